"""Products naming and layout, the pipeline report (untrusted XML) and the weblog zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from drwlab.errors import InvalidMessage, InvalidUid, PipelineFailed
from drwlab.products import (
    PRODUCT_COUNT,
    PipelineReport,
    ProductsTree,
    QAScore,
    parse_report,
    product_name,
    products_dir_name,
    render_report_xml,
    report_from_base64,
    report_name,
    report_to_base64,
    weblog_name,
)
from drwlab.weblog import write_weblog_zip

UID = "uid://X1/X1/Xa1"
TS = "2018-07-19T07:10:03.781"


def a_report(**changes: object) -> PipelineReport:
    report = PipelineReport(
        ous_uid=UID,
        prog_id="2015.1.00657.S",
        executive="EU",
        recipe="PipelineCalibration",
        timestamp=TS,
        scores=[QAScore("hifa_importdata", "Import", 0.95), QAScore("hifa_bandpass", "BP", 0.5)],
    )
    for key, value in changes.items():
        setattr(report, key, value)
    return report


def test_names_follow_the_seed_without_colons() -> None:
    assert products_dir_name("2015.1.00657.S", "2018-07-19T08:50:10.228") == (
        "2015.1.00657.S_2018_07_19T08_50_10.228"
    )
    assert product_name(UID, 0, TS) == "product-0-X1-X1-Xa1-2018_07_19T07_10_03.781.data"
    assert weblog_name(UID, TS) == "weblog-X1-X1-Xa1-2018_07_19T07_10_03.781.zip"
    assert report_name(UID, TS) == "pl-report-X1-X1-Xa1-2018_07_19T07_10_03.781.xml"


def test_a_product_number_outside_the_five_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.4"):
        product_name(UID, PRODUCT_COUNT, TS)


def test_the_tree_has_the_seed_layout(tmp_path: Path) -> None:
    tree = ProductsTree(tmp_path, "2015.1.00657.S", UID, TS)
    products = (
        tmp_path / "2015.1.00657.S_2018_07_19T07_10_03.781/SOUS/GOUS/uid___X1_X1_Xa1/products"
    )
    assert tree.path == tmp_path / tree.products_dir
    assert tree.products_path == products
    assert tree.report_path.parent == tree.weblog_path.parent == products
    assert [p.name for p in tree.data_product_paths] == [
        f"product-{n}-X1-X1-Xa1-2018_07_19T07_10_03.781.data" for n in range(5)
    ]
    assert len(tree.all_files) == 7


def test_check_names_every_missing_file_of_a_partial_tree(tmp_path: Path) -> None:
    tree = ProductsTree(tmp_path, "2015.1.00657.S", UID, TS)
    tree.products_path.mkdir(parents=True)
    for path in tree.all_files[:-2]:
        path.write_text("x")
    with pytest.raises(PipelineFailed) as caught:
        tree.check()
    message = str(caught.value)
    assert "2 of 7 files missing" in message
    assert tree.weblog_path.name in message and tree.data_product_paths[-1].name in message
    tree.weblog_path.write_text("x")
    tree.data_product_paths[-1].write_text("x")
    tree.check()


@pytest.mark.parametrize(
    ("prog_id", "uid", "ts"),
    [
        ("../../etc", UID, TS),
        ("2015/1", UID, TS),
        ("", UID, TS),
        ("2015.1.00657.S", "uid://X1/../Xa1", TS),
        ("2015.1.00657.S", "X1/X1/Xa1", TS),
        ("2015.1.00657.S", UID, "../../x"),
        ("2015.1.00657.S", UID, "2018-07-19"),
        ("2015.1.00657.S", UID, "2018-13-45T99:10:03.781"),
    ],
)
def test_a_tree_from_bad_message_fields_is_refused(
    tmp_path: Path, prog_id: str, uid: str, ts: str
) -> None:
    with pytest.raises(InvalidMessage):
        ProductsTree(tmp_path, prog_id, uid, ts)


def test_a_bad_uid_is_an_invalid_uid(tmp_path: Path) -> None:
    with pytest.raises(InvalidUid):
        ProductsTree(tmp_path, "2015.1.00657.S", "uid://nope", TS)


def test_the_report_round_trips_through_xml() -> None:
    report = a_report(recipe='Pipeline<Calibration> & "friends"')
    parsed = parse_report(render_report_xml(report))
    assert parsed == report
    assert parsed.overall == 0.5
    assert parsed.to_rows()[1] == {"stage": "hifa_bandpass", "name": "BP", "score": 0.5}


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<PipelineReport ousUID="uid://X1/X1/Xa1" progID="&lol2;" executive="EU" recipe="R"
 timestamp="2018-07-19T07:10:03.781"/>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<PipelineReport ousUID="uid://X1/X1/Xa1" progID="P" executive="EU" recipe="&xxe;"
 timestamp="2018-07-19T07:10:03.781"/>"""


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (BILLION_LAUGHS, "DOCTYPE or entity"),
        (EXTERNAL_ENTITY, "DOCTYPE or entity"),
        ('<!DOCTYPE PipelineReport SYSTEM "http://example.org/x.dtd"><PipelineReport/>', "DOCTYPE"),
        ("<PipelineReport", "not well-formed"),
        ("", "not well-formed"),
        ("not xml at all", "not well-formed"),
        ("<Other/>", "root element <Other>"),
        (
            '<PipelineReport ousUID="uid://X1/X1/Xa1"/>',
            "lacks progID, executive, recipe, timestamp",
        ),
        (
            render_report_xml(a_report()).replace('score="0.5"', 'score="high"'),
            "is not a number",
        ),
        (render_report_xml(a_report()).replace('score="0.5"', 'score="7"'), "outside 0..1"),
        (render_report_xml(a_report()).replace('name="BP" ', ""), "QAScore lacks"),
        ("<a>" * 10 + "x" * 1_000_001, "too long"),
    ],
)
def test_a_malformed_report_is_refused_clearly(text: str, complaint: str) -> None:
    with pytest.raises(InvalidMessage, match=complaint):
        parse_report(text)


def test_a_report_with_a_bad_uid_is_refused() -> None:
    with pytest.raises(InvalidUid):
        parse_report(render_report_xml(a_report(ous_uid="uid://X1/X1/../x")))


def test_a_report_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="must be text"):
        parse_report(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage, match="not UTF-8"):
        parse_report(b"\xff\xfe<PipelineReport/>")


def test_a_report_as_utf8_bytes_is_read() -> None:
    assert parse_report(render_report_xml(a_report()).encode()) == a_report()


def test_the_report_travels_as_base64() -> None:
    xml = render_report_xml(a_report(recipe="Caf\u00e9"))
    assert parse_report(report_from_base64(report_to_base64(xml))).recipe == "Caf\u00e9"


@pytest.mark.parametrize("data", [None, 3, "", "not base64!", "//79", "A" * 2_000_000])
def test_a_bad_base64_report_is_refused(data: object) -> None:
    with pytest.raises(InvalidMessage, match="report"):
        report_from_base64(data)


def test_the_weblog_zip_holds_an_escaped_index_and_a_page_per_stage(tmp_path: Path) -> None:
    path = tmp_path / weblog_name(UID, TS)
    write_weblog_zip(path, a_report(recipe="<script>alert(1)</script>"))
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["index.html", "stage1.html", "stage2.html"]
        index = archive.read("index.html").decode()
    assert "uid://X1/X1/Xa1" in index and "hifa_bandpass" in index and "0.50" in index
    assert "<script>" not in index and "&lt;script&gt;" in index
