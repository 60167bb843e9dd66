"""The run report: one self-contained HTML file whose figures match the store."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from drwlab.lifecycle import State
from drwlab.store.base import Store
from drwlab.views.report import render_report, write_report
from drwlab.wire import STATUS_DB
from tests.views.wire import (
    PROBLEM_PATH,
    delivered_ous,
    message,
    status_doc,
)

DELIVERED = ["uid://X1/X1/Xa1", "uid://X1/X1/Xa2", "uid://X1/X1/Xa3"]
PROBLEM = "uid://X1/X1/Xb1"
WAITING = "uid://X1/X1/Xc1"


class _Report(HTMLParser):
    """What a reader checks: summary figures, timeline rows, tags and their src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.summary: dict[str, str] = {}
        self.timeline_uids: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self._key: str | None = None
        self._in_td = False
        self._in_timeline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]
        if tag == "tr" and a.get("data-key"):
            self._key = a["data-key"]
        self._in_td = tag == "td" and self._key is not None
        if tag == "svg" and a.get("class") == "timeline":
            self._in_timeline = True
        if self._in_timeline and tag == "g" and a.get("class") == "ous":
            self.timeline_uids.append(str(a["data-uid"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_timeline = False
        if tag == "tr":
            self._key = None

    def handle_data(self, data: str) -> None:
        if self._in_td and self._key is not None:
            self.summary[self._key] = data
            self._in_td = False


def read(markup: str) -> _Report:
    parser = _Report()
    parser.feed(markup)
    return parser


def _run(store: Store) -> None:
    for i, uid in enumerate(DELIVERED):
        delivered_ous(store, uid, start=i)
    problem = status_doc(PROBLEM, PROBLEM_PATH, start=2, problem="pipeline <crashed>")
    store.put(STATUS_DB, problem)
    store.put(STATUS_DB, status_doc(WAITING, [State.READY_FOR_PROCESSING], start=5))
    store.bulk_put(
        "msgq",
        [
            message(
                "pipeline.process.EU",
                {"ousUID": DELIVERED[0]},
                at=0,
                sender="launcher",
                handled_by="pipeline-driver.EU@h:1",
            ),
            message(
                "ingest.JAO",
                {"ousUID": "<script>"},
                at=9,
                state="dead",
                error="ValueError: bad <b>",
            ),
            message("pipeline.process.EU", {"ousUID": WAITING}, at=5, sender="launcher"),
        ],
    )


def test_the_summary_figures_match_the_store(store: Store) -> None:
    _run(store)

    report = read(render_report(store))

    s = report.summary
    entities = store.all_docs("status-entities")
    messages = store.all_docs("msgq")
    assert s["ous"] == str(len(entities))
    assert s["delivered"] == str(sum(e["state"] == "Delivered" for e in entities))
    assert s["dead-letters"] == str(sum(m.get("state") == "dead" for m in messages))
    assert s["unread-messages"] == str(sum(m.get("consumed") is False for m in messages))
    assert s["ngas-files"] == str(len(store.all_docs("ngas")))
    assert s["pipeline-reports"] == str(len(store.all_docs("pipeline-reports")))
    # and the figures themselves, as built by _run:
    assert s["ous"] == "5"
    assert s["delivered"] == "3"
    assert s["processing-problem"] == "1"
    assert s["in-progress"] == "1"
    assert s["failures"] == "1"
    assert s["dead-letters"] == "1"
    assert s["unread-messages"] == "1"
    assert s["pipeline-reports"] == "3"
    assert s["ngas-files"] == "6"
    assert s["products-metadata"] == "6"
    # Delivered: 8 entries 2 s apart = 14 s; ProcessingProblem: 3 entries = 4 s.
    assert (s["duration-min"], s["duration-max"]) == ("4.0", "14.0")


def test_every_ous_is_in_the_timeline(store: Store) -> None:
    _run(store)

    report = read(render_report(store))

    assert sorted(report.timeline_uids) == sorted([*DELIVERED, PROBLEM, WAITING])


def test_the_report_is_self_contained(store: Store) -> None:
    _run(store)
    links = {"EU cache": "http://127.0.0.1:8000/", "weblogs": "https://example.org/weblogs"}

    markup = render_report(store, links=links)
    report = read(markup)

    assert "script" not in report.tags
    assert "link" not in report.tags and "img" not in report.tags and "iframe" not in report.tags
    assert not [u for u in report.links if u.startswith(("http:", "https:", "//"))]
    assert "http://127.0.0.1:8000/" in markup  # the links are there, as text


def test_the_report_has_its_sections_and_escapes_values(store: Store) -> None:
    _run(store)

    markup = render_report(store, title="Run <1>", focus_uid=DELIVERED[0])

    assert "<title>Run &lt;1&gt;</title>" in markup
    for section in ("summary", "timeline", "lifecycle", "sequence", "qa-scores", "tables"):
        assert f'<section id="{section}">' in markup
    assert "pipeline &lt;crashed&gt;" in markup  # the failure's reason
    assert "ValueError: bad &lt;b&gt;" in markup  # the dead letter's error
    assert 'class="sequence"' in markup and "pipeline.process.EU" in markup
    assert 'data-count="3"' in markup  # three OUSs went DeliveryInProgress -> Delivered
    assert "0.40" in markup and "stage2" in markup  # a QA score


def test_write_report_writes_one_file(store: Store, tmp_path: Path) -> None:
    delivered_ous(store, DELIVERED[0])

    path = write_report(store, tmp_path / "out" / "run.html")

    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_a_report_of_an_empty_store_is_still_a_report(store: Store) -> None:
    report = read(render_report(store))

    assert report.summary["ous"] == "0"
    assert report.timeline_uids == []
