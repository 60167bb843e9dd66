"""The weblog: a self-contained index whose stage links are in-page anchors, a plot per stage."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from drwlab.products import PipelineReport, QAScore
from drwlab.qa import qa_band
from drwlab.weblog import (
    ANTENNAS,
    render_stage_page,
    render_weblog_index,
    stage_plot_data,
    stage_plot_svg,
    write_weblog_zip,
)

TS = "2018-07-19T07:10:03.781"


def a_report(recipe: str = "PipelineCalibration", low: float = 0.21) -> PipelineReport:
    scores = [
        QAScore("hifa_importdata", "Import the measurement sets", 0.97),
        QAScore("hifa_bandpass", "Bandpass calibration", low),
        QAScore("hif_applycal", "Apply <the> calibrations", 0.78),
    ]
    return PipelineReport("uid://X1/X1/Xa1", "2015.1.00657.S", "EU", recipe, TS, scores)


def test_the_index_has_no_link_that_could_navigate_an_inline_frame_away() -> None:
    index = render_weblog_index(a_report())
    assert "<a " not in index and "href" not in index
    assert index.count("<details") == 3 and index.count("<summary>") == 3


def test_the_index_holds_each_stage_with_its_plot_and_coloured_score() -> None:
    index = render_weblog_index(a_report())
    assert index.count("<svg") == 3
    red = qa_band(0.21)
    assert f'background:{red.background};color:{red.foreground}">0.21<' in index
    assert "Overall QA score (the lowest stage)" in index


def test_stages_with_a_warning_or_an_error_are_open_for_the_reviewer() -> None:
    opened = re.findall(r'<details id="(stage\d)"[^>]* open>', render_weblog_index(a_report()))
    assert opened == ["stage2"]
    assert re.findall(r"<details[^>]* open>", render_weblog_index(a_report(low=0.5)))
    assert not re.findall(r"<details[^>]* open>", render_weblog_index(a_report(low=0.7)))


def test_a_stage_page_has_its_plot_and_links_back_to_the_index() -> None:
    page = render_stage_page(a_report(), 2)
    assert "hifa_bandpass" in page and page.count("<svg") == 1
    assert 'href="index.html"' in page and "hif_applycal" not in page


def test_the_plot_is_well_formed_svg_with_a_bar_per_antenna() -> None:
    svg = ET.fromstring(stage_plot_svg(a_report(), a_report().scores[1]))
    bars = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == len(ANTENNAS)
    assert "Apply &lt;the&gt; calibrations" in stage_plot_svg(a_report(), a_report().scores[2])


def test_the_plot_shows_the_stage_score_as_its_worst_antenna() -> None:
    report = a_report()
    for score in report.scores:
        values = [value for _, value in stage_plot_data(report, score)]
        assert min(values) == score.score and all(0 <= v <= 1 for v in values)
    bad = [v for _, v in stage_plot_data(report, report.scores[1]) if v <= 0.8]
    assert len(bad) >= 3  # a bad stage shows more than one bad antenna


def test_the_same_report_gives_the_same_pages_and_another_run_other_plots() -> None:
    report = a_report()
    assert render_weblog_index(report) == render_weblog_index(a_report())
    other = PipelineReport(report.ous_uid, report.prog_id, "EU", report.recipe,
                           "2018-07-19T07:10:04.000", report.scores)  # fmt: skip
    assert stage_plot_data(report, report.scores[0]) != stage_plot_data(other, other.scores[0])


def test_the_zipped_weblog_escapes_what_the_report_says(tmp_path: Path) -> None:
    path = tmp_path / "weblog.zip"
    write_weblog_zip(path, a_report(recipe="<script>alert(1)</script>"))
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["index.html", *(f"stage{n}.html" for n in (1, 2, 3))]
        pages = [archive.read(name).decode() for name in archive.namelist()]
    assert all("<script>" not in page for page in pages)
    assert "&lt;script&gt;" in pages[0]
