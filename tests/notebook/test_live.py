"""Live tables and the board redraw themselves while the store changes, and only then."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab import Sandbox
from drwlab.errors import NotFound
from drwlab.notebook.live import LiveView, live_board, live_tables, scoped_style
from drwlab.store import Store
from drwlab.uids import uid_to_doc_id
from drwlab.wire import NGAS_DB, STATUS_DB

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
        doc["_rev"] = store.get(STATUS_DB, doc_id)["_rev"]
    store.put(STATUS_DB, doc)


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
    view = live_tables(store, ["status-entities"], rest=FAST)
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
    view = live_board(store, rest=FAST)
    views.append(view)
    board = view.parts["board"]
    wait_until(lambda: "uid://X1/X1/Xb0" in board.value)
    delivered = board.value.split('data-state="Delivered"', 1)[1]
    assert "uid://X1/X1/Xb0" in delivered.split("</td>", 1)[0]


def test_values_from_documents_are_shown_escaped(store: Store, views: list[LiveView]) -> None:
    put_ous(store, "uid://X1/X1/Xb0", problem="<script>alert(1)</script>")
    view = live_tables(store, ["status-entities"], rest=FAST)
    views.append(view)
    part = view.parts["status-entities"]
    wait_until(lambda: "alert(1)" in part.value)
    assert "<script>" not in part.value
    assert "&lt;script&gt;" in part.value


def test_a_view_redraws_only_the_parts_whose_database_changed(
    store: Store, views: list[LiveView]
) -> None:
    view = live_tables(store, ["status-entities", "ngas"], rest=FAST)
    views.append(view)
    wait_until(lambda: view.renders == 1)
    drawn: list[str] = []
    for name, part in view.parts.items():
        part.observe(lambda _change, name=name: drawn.append(name), "value")
    store.put(NGAS_DB, {"_id": "f.data", "fileId": "f.data", "writeTimestamp": "2018-07-19"})
    wait_until(lambda: "f.data" in view.parts["ngas"].value)
    assert drawn == ["ngas"]
    put_ous(store, "uid://X1/X1/Xb0")
    wait_until(lambda: "uid://X1/X1/Xb0" in view.parts["status-entities"].value)
    assert drawn == ["ngas", "status-entities"]


def test_a_view_redraws_at_least_once_a_second_while_changes_go_on(
    store: Store, views: list[LiveView]
) -> None:
    view = live_tables(store, ["status-entities"])
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


READS = ("find", "get", "current_seq", "changes", "count")
"""The Store calls that read data (waiting on a change feed is not one of them)."""


def count_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """From now on, count each read ``store`` is asked for."""
    reads: Counter[str] = Counter()
    for name in READS:
        method = getattr(store, name)

        def counted(*args: object, name: str = name, method: Any = method, **kw: object) -> Any:
            reads[name] += 1
            return method(*args, **kw)

        monkeypatch.setattr(store, name, counted)
    return reads


def test_views_read_nothing_while_nothing_changes(
    store: Store, views: list[LiveView], monkeypatch: pytest.MonkeyPatch
) -> None:
    put_ous(store, "uid://X1/X1/Xb0")
    tables = live_tables(store, ["status-entities", "unread-messages", "ngas"], rest=FAST)
    board = live_board(store, rest=FAST)
    views += [tables, board]
    wait_until(lambda: tables.renders == 1 and board.renders == 1)
    reads = count_reads(store, monkeypatch)
    threading.Event().wait(1.5)  # three heartbeats of every feed: idle
    assert reads == Counter(), "an idle view read the store"
    assert (tables.renders, board.renders) == (1, 1)
    put_ous(store, "uid://X1/X1/Xb1")
    wait_until(lambda: "uid://X1/X1/Xb1" in board.parts["board"].value)
    assert reads["find"] >= 1  # the counting sees a redraw's reads


def test_stopping_a_view_ends_its_thread_and_says_so(store: Store) -> None:
    view = live_tables(store, ["status-entities", "unread-messages"], rest=FAST)
    wait_until(lambda: "updated" in view.status.value)
    view.stop()
    assert not view.running
    wait_until(lambda: "stopped" in view.status.value)


def test_stopping_the_sandbox_stops_every_view(tmp_path: Path) -> None:
    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        board = live_board(sandbox, rest=FAST)
        tables = live_tables(sandbox, ["ngas", "dead-letters"], rest=FAST)
        wait_until(lambda: board.running and tables.running and "updated" in board.status.value)
    finally:
        sandbox.stop()
    wait_until(lambda: not board.running and not tables.running, timeout=2.0)
    wait_until(lambda: board.follower.finished and tables.follower.finished, timeout=2.0)


def test_the_shared_style_only_reaches_our_own_widgets() -> None:
    css = "body { margin: 1em; }\nth, td { padding: 2px; }"
    scoped = scoped_style(css, ".drwlab-live")
    assert ".drwlab-live {" in scoped
    assert ".drwlab-live th, .drwlab-live td {" in scoped
    assert "body" not in scoped


def test_unknown_parts_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown or no parts"):
        LiveView(store, ["no-such-table"])


def test_a_docked_board_closes_its_side_panel_when_its_sandbox_stops(tmp_path: Path) -> None:
    """A notebook run again starts a new sandbox and docks a new board: one panel, not two."""
    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        board = live_board(sandbox, rest=FAST, dock=True)
        kept = LiveView(sandbox, ["board"], rest=FAST)  # a second board, docked by hand
        kept.dock("kept")
        kept.start()
        wait_until(lambda: "updated" in board.status.value)
        kept.stop()  # stopped by hand: the panel stays, showing the last values
        wait_until(lambda: "stopped" in kept.status.value)
        assert board.sidecar.comm is not None and kept.sidecar.comm is not None
    finally:
        sandbox.stop()
    wait_until(lambda: board.follower.finished, timeout=2.0)
    assert board.sidecar.comm is None, "the side panel of a stopped sandbox's board is closed"
    assert kept.sidecar.comm is not None


def test_a_view_asked_for_again_is_the_one_that_runs_until_it_stops(tmp_path: Path) -> None:
    """A learner runs a view's cell again: the same view (one thread, one side panel)."""
    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        board = live_board(sandbox, rest=FAST, dock=True)
        assert live_board(sandbox, rest=FAST, dock=True) is board
        assert live_board(sandbox, rest=FAST) is not board  # in the cell, not docked: another
        tables = live_tables(sandbox, ["ngas"], rest=FAST, title="NGAS")
        assert live_tables(sandbox, ["ngas"], rest=FAST, title="NGAS") is tables
        assert live_tables(sandbox, ["ngas", "dead-letters"], rest=FAST) is not tables
        tables.stop()
        again = live_tables(sandbox, ["ngas"], rest=FAST, title="NGAS")
        assert again is not tables and again.running  # a view stopped by hand starts anew
    finally:
        sandbox.stop()
    other = Sandbox(workdir=tmp_path / "other", time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        assert live_board(other, rest=FAST, dock=True) is not board  # a new sandbox, a new board
    finally:
        other.stop()
