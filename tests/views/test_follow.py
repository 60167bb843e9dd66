"""The Follower: one call at start, then one per burst of changes, naming what changed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from requests.adapters import HTTPAdapter

from drwlab.store import open_store
from drwlab.store.base import Store
from drwlab.views.follow import Follower
from drwlab.wire import DELIVERY_DB, FAULTS_DB, NGAS_DB, STATUS_DB
from tests.servers import CouchServer

DEADLINE = 10.0


def wait_until(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_the_first_call_names_every_database_and_later_ones_what_changed(store: Store) -> None:
    calls: list[frozenset[str]] = []
    follower = Follower(store, [STATUS_DB, NGAS_DB], calls.append, rest=0.05).start()
    try:
        wait_until(lambda: len(calls) == 1)
        assert calls[0] == {STATUS_DB, NGAS_DB}
        store.put(NGAS_DB, {"_id": "a.data", "fileId": "a.data"})
        wait_until(lambda: len(calls) == 2)
        assert calls[1] == {NGAS_DB}
        store.put(DELIVERY_DB, {"_id": "not-followed"})
        store.put(STATUS_DB, {"_id": "uid___X1_X1_Xb0", "entityId": "uid://X1/X1/Xb0"})
        wait_until(lambda: len(calls) == 3)
        assert calls[2] == {STATUS_DB}
    finally:
        follower.stop()
    assert follower.finished and not follower.running


def test_a_burst_of_writes_makes_few_calls(store: Store) -> None:
    calls: list[frozenset[str]] = []
    follower = Follower(store, [NGAS_DB], calls.append, rest=0.5).start()
    try:
        wait_until(lambda: len(calls) == 1)
        started = time.monotonic()
        for n in range(20):
            store.put(NGAS_DB, {"_id": f"f{n}.data", "fileId": f"f{n}.data"})
        burst = time.monotonic() - started
        wait_until(lambda: len(calls) >= 2)
        threading.Event().wait(0.6)  # the rest after a call: the burst's tail lands in one more
        # at most one call per rest while the burst lasted, and one for its tail
        assert 2 <= len(calls) <= 2 + int(burst / 0.5) + 1 < 21
    finally:
        follower.stop()


def test_a_follower_ends_with_its_source(store: Store) -> None:
    alive = threading.Event()
    alive.set()
    ended = threading.Event()
    follower = Follower(
        store, [NGAS_DB], lambda _: None, heartbeat=0.1, alive=alive.is_set, on_exit=ended.set
    ).start()
    alive.clear()
    assert ended.wait(DEADLINE)
    wait_until(lambda: follower.finished)


def test_a_follower_needs_a_database(store: Store) -> None:
    with pytest.raises(ValueError, match="at least one database"):
        Follower(store, [], lambda _: None)


def test_a_database_made_after_the_start_is_reported_when_it_appears(store: Store) -> None:
    calls: list[frozenset[str]] = []
    assert FAULTS_DB not in store.db_names()  # no fault injected yet
    follower = Follower(store, [NGAS_DB, FAULTS_DB], calls.append, rest=0.05).start()
    try:
        wait_until(lambda: len(calls) == 1)
        store.create_db(FAULTS_DB)
        store.put(FAULTS_DB, {"_id": "first", "kind": "crash"})
        wait_until(lambda: len(calls) == 2)
        assert calls[1] == {FAULTS_DB}
        store.put(FAULTS_DB, {"_id": "second", "kind": "outage"})  # from now on, by its feed
        wait_until(lambda: len(calls) == 3)
        assert calls[2] == {FAULTS_DB}
        assert follower.last_error is None
    finally:
        follower.stop()
    assert follower.finished


def test_an_idle_follower_sends_a_server_no_requests(
    server: CouchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a classroom's idle notebooks cost the shared server: their open feeds only."""
    requests_sent: list[str] = []
    send = HTTPAdapter.send

    def counted(adapter: HTTPAdapter, request: Any, **kwargs: Any) -> Any:
        requests_sent.append(f"{request.method} {request.url}")
        return send(adapter, request, **kwargs)

    with open_store(server.url) as store:
        store.ensure_databases()
        calls: list[frozenset[str]] = []
        follower = Follower(store, [STATUS_DB, NGAS_DB], calls.append, heartbeat=0.2, rest=0)
        follower.start()
        try:
            wait_until(lambda: len(calls) == 1)
            time.sleep(0.5)  # the feeds are open
            monkeypatch.setattr(HTTPAdapter, "send", counted)
            time.sleep(1.0)  # five heartbeats of each feed
            idle = list(requests_sent)
            store.put(NGAS_DB, {"_id": "a-file"})
            wait_until(lambda: NGAS_DB in calls[-1])
        finally:
            follower.stop()
    assert idle == []
