"""The mock pipeline's weblog: an index of the run's stages and a page per stage, zipped.

A reviewer reads the weblog in a browser from the JAO cache, or inline in a
notebook, where it is one HTML document in an ``<iframe srcdoc>`` with no
server behind it and no scripts allowed. There a link, even an in-page anchor
(``#stage3``), resolves against the *notebook's* address and navigates the
frame away (measured in Chromium: ``about:blank#stage3``). So ``index.html``
links nowhere: every stage is a ``<details>`` element whose summary (stage,
task, QA score coloured by band) opens the stage's section (a small plot,
inline SVG) in place, inline, from a file or served alike; stages with a
warning or an error are open from the start, for the reviewer to notice.
Each ``stageN.html`` holds one stage's section alone, for the served weblog.
Every value is escaped: a report arrives in messages.

The plot is drawn from data derived from the report alone (seeded by the
OUS, the run and the stage), so the same report always gives the same pages.
"""

from __future__ import annotations

import hashlib
import html
import random
import zipfile
from pathlib import Path

from drwlab.products import PipelineReport, QAScore, check_timestamp
from drwlab.qa import QA_BANDS, qa_band
from drwlab.timeutil import parse_timestamp

ANTENNAS: tuple[str, ...] = tuple(
    [f"DA{n}" for n in range(41, 49)] + [f"DV{n:02d}" for n in range(1, 9)]
)
"""The antennas of the mock's per-antenna plots (ALMA's 12-m antennas are named so)."""

PLOT_WIDTH, PLOT_HEIGHT = 480, 170
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 8, 18, 30

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1.5em;color:#222}}
details{{border-top:1px solid #ccc;padding:.3em 0}}summary{{cursor:pointer}}
summary .stage{{display:inline-block;min-width:11em;font-family:monospace}}
summary .task{{display:inline-block;min-width:22em}}
.qa{{padding:.1em .5em;border-radius:.3em;font-weight:bold}}
.legend span{{margin-right:.6em}}svg{{max-width:100%;height:auto}}</style></head>
<body id="top">{body}</body></html>
"""


def score_badge(score: float) -> str:
    """The score as a badge coloured by its QA band, the band named in its tooltip."""
    band = qa_band(score)
    return (
        f'<span class="qa qa-{band.name}" title="{band.name} ({band.colour}): {band.meaning}" '
        f'style="background:{band.background};color:{band.foreground}">{score:.2f}</span>'
    )


def _legend() -> str:
    items = "".join(
        f'<span class="qa" style="background:{b.background};color:{b.foreground}">'
        f"{b.colour}: {b.name}</span>"
        for b in QA_BANDS
    )
    return f'<p class="legend">QA score bands: {items}</p>'


def stage_plot_data(report: PipelineReport, score: QAScore) -> list[tuple[str, float]]:
    """(antenna, metric 0..1) for one stage; the stage's score is its worst antenna's."""
    key = f"{report.ous_uid}|{report.timestamp}|{score.stage}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    values = [round(rng.uniform(max(score.score, 0.85), 1.0), 2) for _ in ANTENNAS]
    worst = rng.randrange(len(ANTENNAS))
    values[worst] = score.score
    if score.score <= 0.66:  # a bad stage rarely has a single bad antenna
        for other in rng.sample([i for i in range(len(ANTENNAS)) if i != worst], 2):
            values[other] = round(rng.uniform(score.score, 0.8), 2)
    return list(zip(ANTENNAS, values, strict=True))


def stage_plot_svg(report: PipelineReport, score: QAScore) -> str:
    """A bar chart of the stage's metric per antenna, bars coloured by band, as inline SVG."""
    data = stage_plot_data(report, score)
    inner_w, inner_h = PLOT_WIDTH - _LEFT - _RIGHT, PLOT_HEIGHT - _TOP - _BOTTOM
    step = inner_w / len(data)

    def y(value: float) -> float:
        return _TOP + inner_h * (1 - value)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stage-plot" role="img" '
        f'width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}" viewBox="0 0 {PLOT_WIDTH} {PLOT_HEIGHT}" '
        f'aria-label="{html.escape(score.stage)}: metric per antenna" font-size="9">',
        f'<text x="{_LEFT}" y="11">{html.escape(score.name)}: metric per antenna '
        "(1 = ideal; the stage scores its worst antenna)</text>",
    ]
    for band in QA_BANDS[:-1]:
        parts.append(
            f'<line x1="{_LEFT}" x2="{PLOT_WIDTH - _RIGHT}" y1="{y(band.floor):.1f}" '
            f'y2="{y(band.floor):.1f}" stroke="{band.foreground}" stroke-dasharray="3 3" '
            f'stroke-opacity=".5"/><text x="{_LEFT - 4}" y="{y(band.floor) + 3:.1f}" '
            f'text-anchor="end">{band.floor:.2f}</text>'
        )
    for i, (antenna, value) in enumerate(data):
        x = _LEFT + i * step + step * 0.15
        band = qa_band(value)
        parts.append(
            f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{step * 0.7:.1f}" '
            f'height="{inner_h * value:.1f}" fill="{band.foreground}" fill-opacity=".8">'
            f"<title>{html.escape(antenna)}: {value:.2f} ({band.name})</title></rect>"
            f'<text x="{x + step * 0.35:.1f}" y="{PLOT_HEIGHT - _BOTTOM + 12}" '
            f'text-anchor="middle">{html.escape(antenna)}</text>'
        )
    parts.append(
        f'<line x1="{_LEFT}" x2="{PLOT_WIDTH - _RIGHT}" y1="{y(0)}" y2="{y(0)}" stroke="#444"/>'
    )
    return "".join(parts) + "</svg>"


def _stage_body(report: PipelineReport, score: QAScore) -> str:
    return f"<p>QA score: {score_badge(score.score)}</p>\n{stage_plot_svg(report, score)}"


def _stage_summary(score: QAScore) -> str:
    e = html.escape
    return (
        f'<summary><span class="stage">{e(score.stage)}</span> '
        f'<span class="task">{e(score.name)}</span> {score_badge(score.score)}</summary>'
    )


def _stage_details(report: PipelineReport, number: int, score: QAScore) -> str:
    """One stage of the index, opened in place by a click (no link, no navigation)."""
    noticed = qa_band(score.score).name in ("warning", "error")
    return (
        f'<details id="stage{number}" class="stage-{qa_band(score.score).name}"'
        f"{' open' if noticed else ''}>{_stage_summary(score)}\n"
        f"{_stage_body(report, score)}</details>"
    )


def render_weblog_index(report: PipelineReport) -> str:
    """The weblog's ``index.html``: the run, and each stage with its score, opening in
    place on its plot (all escaped; see the module docstring for why there are no links)."""
    e = html.escape
    stages = "\n".join(_stage_details(report, i, s) for i, s in enumerate(report.scores, start=1))
    body = (
        f"<h1>Pipeline weblog: {e(report.ous_uid)}</h1>\n"
        f"<p>Project {e(report.prog_id)}, recipe {e(report.recipe)}, "
        f"executive {e(report.executive)}, run {e(report.timestamp)} UTC.</p>\n"
        f"<p>Overall QA score (the lowest stage): {score_badge(report.overall)}</p>\n"
        f"{_legend()}\n<p>Click a stage to open or close its plot.</p>\n"
        f'<div class="stages">\n{stages}\n</div>'
    )
    return _PAGE.format(title=e(f"Weblog {report.ous_uid}"), body=body)


def render_stage_page(report: PipelineReport, number: int) -> str:
    """``stageN.html``: stage ``number`` (from 1) alone, for the served weblog."""
    score = report.scores[number - 1]
    e = html.escape
    body = (
        f'<p><a href="index.html">Weblog of {e(report.ous_uid)}</a></p>\n'
        f'<h1 id="stage{number}">{number}. {e(score.stage)}: {e(score.name)}</h1>\n'
        + _stage_body(report, score)
    )
    return _PAGE.format(title=e(f"{score.name} - {report.ous_uid}"), body=body)


def write_weblog_zip(path: Path, report: PipelineReport) -> None:
    """Write the zipped weblog: ``index.html`` plus ``stageN.html`` per stage."""
    moment = parse_timestamp(check_timestamp(report.timestamp))
    date_time = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    pages = {"index.html": render_weblog_index(report)}
    for number in range(1, len(report.scores) + 1):
        pages[f"stage{number}.html"] = render_stage_page(report, number)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in pages.items():
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
