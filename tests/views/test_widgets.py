"""Live tables and the board refresh themselves while the store changes, and only then."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drwlab import Sandbox
from drwlab.errors import NotFound
from drwlab.store import Store
from drwlab.uids import uid_to_doc_id
from drwlab.views.widgets import (
    LiveView,
    Refresher,
    live_board,
    live_tables,
    scoped_style,
)

FAST = 0.05
DEADLINE = 10.0


def wait_until(condition: Callable[[], object], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def put_ous(store: Store, uid: str, state: str = "ReadyForProcessing", **extra: object) -> None:
    doc_id = uid_to_doc_id(uid)
    doc = {
        "_id": doc_id,
        "entityId": uid,
        "progID": "2015.1.00657.S",
        "state": state,
        "substate": None,
        "flags": {"PL_PROCESSING_EXECUTIVE": "EU"},
        "timestamp": "2018-07-19T08:50:10.228",
        **extra,
    }
    with contextlib.suppress(NotFound):
        doc["_rev"] = store.get("status-entities", doc_id)["_rev"]
    store.put("status-entities", doc)


@pytest.fixture
def views() -> Iterator[list[LiveView]]:
    """Views made by a test; all stopped afterwards."""
    made: list[LiveView] = []
    yield made
    for view in made:
        view.stop()


def test_a_live_table_shows_a_new_ous_without_running_anything(
    store: Store, views: list[LiveView]
) -> None:
    view = live_tables(store, ["status-entities"], interval=FAST)
    views.append(view)
    part = view.parts["status-entities"]
    put_ous(store, "uid://X1/X1/Xb0")
    wait_until(lambda: "uid://X1/X1/Xb0" in part.value)
    put_ous(store, "uid://X1/X1/Xb1", "Processing")
    wait_until(lambda: "uid://X1/X1/Xb1" in part.value)
    assert "Processing" in part.value


def test_the_board_puts_each_ous_in_the_column_of_its_state(
    store: Store, views: list[LiveView]
) -> None:
    put_ous(store, "uid://X1/X1/Xb0", "Delivered")
    view = live_board(store, interval=FAST)
    views.append(view)
    board = view.parts["board"]
    wait_until(lambda: "uid://X1/X1/Xb0" in board.value)
    delivered = board.value.split('data-state="Delivered"', 1)[1]
    assert "uid://X1/X1/Xb0" in delivered.split("</td>", 1)[0]


def test_values_from_documents_are_shown_escaped(store: Store, views: list[LiveView]) -> None:
    put_ous(store, "uid://X1/X1/Xb0", problem="<script>alert(1)</script>")
    view = live_tables(store, ["status-entities"], interval=FAST)
    views.append(view)
    part = view.parts["status-entities"]
    wait_until(lambda: "alert(1)" in part.value)
    assert "<script>" not in part.value
    assert "&lt;script&gt;" in part.value


def test_a_refresher_renders_only_when_its_databases_change(store: Store) -> None:
    rendered = threading.Event()
    refresher = Refresher(store, rendered.set, databases=["status-entities"], interval=FAST)
    refresher.start()
    try:
        wait_until(lambda: refresher.renders == 1)
        # Nothing changes for twenty intervals: no render at all.
        threading.Event().wait(20 * FAST)
        assert refresher.renders == 1
        store.put("ngas", {"_id": "other-database.data", "fileId": "other-database.data"})
        threading.Event().wait(10 * FAST)
        assert refresher.renders == 1, "a database it does not watch changed"
        put_ous(store, "uid://X1/X1/Xb0")
        wait_until(lambda: refresher.renders == 2)
    finally:
        refresher.stop()
    assert not refresher.running


def test_a_view_refreshes_at_least_once_a_second_while_changes_go_on(
    store: Store, views: list[LiveView]
) -> None:
    view = live_tables(store, ["status-entities"], interval=0.5)
    views.append(view)
    seen: list[float] = []
    view.parts["status-entities"].observe(lambda _change: seen.append(time.monotonic()), "value")
    started = time.monotonic()
    for n in range(30):  # three seconds of changes, one every 0.1 s
        put_ous(store, f"uid://X1/X1/Xd{n}")
        threading.Event().wait(0.1)
    stamps = [started, *seen]
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert len(seen) >= 3
    assert max(gaps) < 1.0, gaps


def test_stopping_a_view_ends_its_thread_and_says_so(store: Store) -> None:
    view = live_tables(store, ["status-entities", "unread-messages"], interval=FAST)
    wait_until(lambda: "updated" in view.status.value)
    view.stop()
    assert not view.running
    wait_until(lambda: "stopped" in view.status.value)


def test_stopping_the_sandbox_stops_every_view(tmp_path: Path) -> None:
    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        board = live_board(sandbox, interval=FAST)
        tables = live_tables(sandbox, ["ngas", "dead-letters"], interval=FAST)
        wait_until(lambda: board.running and tables.running and "updated" in board.status.value)
    finally:
        sandbox.stop()
    wait_until(lambda: not board.running and not tables.running, timeout=2.0)
    wait_until(lambda: board.refresher.finished and tables.refresher.finished, timeout=2.0)


def test_the_shared_style_only_reaches_our_own_widgets() -> None:
    css = "body { margin: 1em; }\nth, td { padding: 2px; }"
    scoped = scoped_style(css, ".drwlab-live")
    assert ".drwlab-live {" in scoped
    assert ".drwlab-live th, .drwlab-live td {" in scoped
    assert "body" not in scoped


def test_unknown_parts_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown or no parts"):
        LiveView(store, ["no-such-table"])
