"""HTML fragments escape every value: uids, selectors and bodies are user input."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd

from drwlab.lifecycle import State
from drwlab.store.base import Store
from drwlab.views import html, tables
from drwlab.wire import REPORTS_DB, STATUS_DB
from tests.views.wire import message, status_doc

EVIL = "<script>alert('x')</script>"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]


def parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    return parser


def _evil_store(store: Store) -> None:
    doc = status_doc("uid://X1/X1/Xa1", [State.READY_FOR_PROCESSING], executive=EVIL)
    doc.update(_id="evil", entityId=EVIL, substate=EVIL)
    store.put(STATUS_DB, doc)
    store.bulk_put(
        "msgq",
        [
            message(EVIL, {"text": EVIL}, at=1, sender=EVIL),
            message("x", {"ousUID": EVIL}, at=2, state="dead", error=EVIL),
        ],
    )
    store.put(REPORTS_DB, {"ousUID": EVIL, "source": EVIL, "timestamp": EVIL})


def test_every_fragment_escapes_user_input(store: Store) -> None:
    _evil_store(store)

    parts = html.fragments(tables.snapshot(store))

    for name, markup in parts.items():
        assert "<script>" not in markup, name
        assert "script" not in parse(markup).tags, name
    assert "&lt;script&gt;" in parts["board"]
    assert "&lt;script&gt;" in parts["unread-messages"]
    assert "&lt;script&gt;" in parts["dead-letters"]
    assert "&lt;script&gt;" in parts["pipeline-reports"]


def test_a_table_shows_none_and_nan_as_empty_and_counts_what_it_leaves_out() -> None:
    table = tables.frame([{"a": None, "b": float("nan")}, {"a": 1, "b": 2}], ("a", "b"))

    markup = html.table_html(table, caption="T", limit=1)

    assert "<td></td><td></td>" in markup
    assert "1 more not shown" in markup
    assert "nan" not in markup.lower().replace("none", "")


def test_links_only_link_to_web_addresses() -> None:
    links = {"EU cache": "http://127.0.0.1:8000/", "bad": "javascript:alert(1)", EVIL: "/w"}

    markup = html.links_html(links)

    assert parse(markup).hrefs == ["http://127.0.0.1:8000/", "/w"]
    assert "javascript:alert(1)" in markup  # shown as text
    assert "<script>" not in markup


def test_links_as_text_have_no_href() -> None:
    assert parse(html.links_html({"EU": "http://127.0.0.1:8000/"}, clickable=False)).hrefs == []


def test_a_board_column_keeps_its_newest_cards_and_counts_the_rest() -> None:
    cards = [{"uid": f"uid://X1/X1/Xa{i}", "timestamp": f"t{i}"} for i in range(3)]

    markup = html.board_html({"Delivered": cards, "Verified": []}, limit=2)

    assert "uid://X1/X1/Xa1" in markup and "uid://X1/X1/Xa2" not in markup
    assert "1 more not shown" in markup
    assert '<span class="count">3</span>' in markup


def test_board_headings_explain_their_state_and_nothing_on_the_board_wraps() -> None:
    markup = html.board_html({"ReadyForProcessing": [{"uid": "uid://X1/X1/Xb0"}]})

    heading = markup.split("<th", 1)[1].split("</th>", 1)[0]
    assert '<abbr class="drwlab-term" title="' in heading
    assert ">ReadyForProcessing</abbr>" in heading
    assert markup.startswith('<div class="board-scroll">')
    for rule in (".board th {", ".card .uid {"):
        declaration = html.STYLE.split(rule, 1)[1].split("}", 1)[0]
        assert "white-space: nowrap" in declaration, rule
    assert "table-layout: fixed" not in html.STYLE


def test_qa_scores_are_coloured_and_named_by_band() -> None:
    scores = pd.DataFrame({"stage": [1, 2, 3], "name": ["a", "b", "c"], "score": [0.95, 0.5, 0.2]})

    markup = html.qa_scores_html(scores)

    bands = re.findall(r'data-band="(\w+)"', markup)
    assert bands == ["optimal", "warning", "error"]
    assert "background: #ffcdd2" in markup  # the error band's colour, on 0.20
    assert ">0.20</td><td>error</td>" in markup


def test_the_board_in_rows_has_a_row_per_state_and_keeps_the_state_cells() -> None:
    cards = [{"uid": "uid://X1/X1/Xb0", "timestamp": "t"}]
    markup = html.board_rows_html({"ReadyForReview": cards, "Delivered": []})

    assert markup.count("<tr>") == 4  # a heading row and a cards row per state
    assert '<td data-state="ReadyForReview"><div class="card"' in markup
    assert ">ReadyForReview</abbr>" in markup
