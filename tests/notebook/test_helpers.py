"""The notebook helpers show what a learner reads: links, words, QA scores, weblogs, quietly."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from IPython.display import HTML

from drwlab.glossary import UnknownTerm
from drwlab.notebook import helpers, kernel
from drwlab.notebook.live import DOCKED_NOTE, live_board
from drwlab.store import Store
from drwlab.views.html import weblog_frame
from tests.notebook.test_live import wait_until


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The HTML the helpers display, in order."""
    markup: list[str] = []
    monkeypatch.setattr(helpers, "_show_html", markup.append)
    return markup


class _Urls:
    urls = {"dashboard": "http://127.0.0.1:8000/", "weblogs.JAO": "http://127.0.0.1:8001/"}
    store_url = "sqlite:///tmp/drwlab.db"

    class store:  # stands in for the sandbox's store attribute
        @staticmethod
        def db_names() -> list[str]:
            return ["msgq"]


def test_links_are_clickable_and_named(shown: list[str]) -> None:
    helpers.links(_Urls())  # type: ignore[arg-type]
    assert shown[0].startswith('<div class="drwlab-links">')
    assert (
        '<a href="http://127.0.0.1:8000/" target="_blank" rel="noopener">dashboard</a>'
        in (shown[0])
    )


def test_words_are_the_glossary_entries_collapsed(shown: list[str]) -> None:
    helpers.words(["ALMA", "QA2"])
    assert shown[0].startswith('<details class="drwlab-words"><summary>')
    assert "<dt>ALMA</dt>" in shown[0] and "<dt>QA2</dt>" in shown[0]
    with pytest.raises(UnknownTerm):
        helpers.words(["lunch"])


def test_qa_scores_shows_the_latest_run_only(
    shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = pd.DataFrame(
        [
            {"ousUID": "u", "timestamp": "2024-01-01T00:00:00", "stage": 1, "name": "old",
             "score": 0.2},
            {"ousUID": "u", "timestamp": "2024-01-02T00:00:00", "stage": 1, "name": "new",
             "score": 0.95},
        ]
    )  # fmt: skip
    monkeypatch.setattr(helpers.tables, "qa_scores", lambda store, uid: runs)

    class _Sandbox:
        store = None

    helpers.qa_scores(_Sandbox(), "u")  # type: ignore[arg-type]
    assert ">new<" in shown[0] and ">old<" not in shown[0]
    assert 'data-band="optimal"' in shown[0]


def test_a_weblog_frame_gives_ipython_no_reason_to_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HTML(weblog_frame("<html><head></head><body>weblog</body></html>"))


@pytest.fixture
def root_level() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def test_quiet_logging_keeps_warnings_out_of_the_outputs(root_level: None) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    kernel.quiet_logging()
    assert not logging.getLogger("drwlab.bus").isEnabledFor(logging.WARNING)
    assert logging.getLogger("drwlab.bus").isEnabledFor(logging.ERROR)


def test_a_docked_board_opens_in_a_sidecar_and_its_cell_says_where(store: Store) -> None:
    view = live_board(store, dock=True)
    try:
        assert type(view.sidecar).__name__ == "Sidecar"
        assert view.sidecar.title == "drwlab board"
        bundle: Any = view._repr_mimebundle_()
        assert bundle["text/html"] == DOCKED_NOTE
    finally:
        view.stop()


def test_a_docked_board_is_drawn_in_rows_for_the_narrow_panel(store: Store) -> None:
    view = live_board(store, dock=True)
    try:
        wait_until(lambda: "board-rows" in view.parts["board"].value)
    finally:
        view.stop()
