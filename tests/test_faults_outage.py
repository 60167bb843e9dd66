"""The store goes away: UnreachableStore refuses every call for a while; drwlab rides it out."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path

import pytest

from drwlab.errors import StoreUnavailable
from drwlab.faults import OutageLog, UnreachableStore, fault_events
from drwlab.lifecycle import FINAL_STATES
from drwlab.sandbox import Sandbox
from drwlab.store import Store
from drwlab.wire import STATUS_DB

OUTAGE = 3.0
OUSS = [f"uid://X1/X1/Xf{n}" for n in range(4)]
MOST_TRIES = 20
"""Most calls one thread may make into a 3 s outage: back-off, not hammering
(a loop retrying every 10 ms would make 300)."""


def test_every_call_is_refused_while_the_store_is_away(store: Store) -> None:
    faulty = UnreachableStore(store)
    faulty.put("ngas", {"_id": "before"})
    seq = faulty.current_seq("ngas")
    feed = faulty.follow_changes("ngas", seq, heartbeat=0.1, limit=10)
    assert next(feed) is None  # nothing changed: a heartbeat

    faulty.outage(60)
    assert faulty.down
    for call in (
        lambda: faulty.get("ngas", "before"),
        lambda: faulty.put("ngas", {"_id": "during"}),
        lambda: faulty.find("ngas", {}),
        lambda: faulty.db_names(),
        lambda: faulty.wait_for_change("ngas", seq, 0.1),
        lambda: next(feed),  # a feed open before the outage breaks off
    ):
        with pytest.raises(StoreUnavailable, match="unreachable"):
            call()
    assert faulty.refused == 6
    assert faulty.refused_by_thread == Counter({threading.current_thread().name: 6})
    assert [doc["_id"] for doc in store.all_docs("ngas")] == ["before"]  # nothing written

    faulty.restore()
    assert not faulty.down
    assert faulty.get("ngas", "before")["_id"] == "before"
    [event] = fault_events(store)
    assert (event["kind"], event["seconds"], event["refused"]) == ("outage", 60, 6)
    assert event["began"] <= event["ended"]


def test_an_outage_ends_by_itself(store: Store) -> None:
    faulty = UnreachableStore(store)
    faulty.outage(0.3)
    with pytest.raises(StoreUnavailable):
        faulty.db_names()
    assert faulty.wait_until_up(timeout=10)
    assert "ngas" in faulty.db_names()
    with pytest.raises(ValueError, match="> 0"):
        faulty.outage(0)


def test_ouss_in_flight_reach_a_final_state_after_an_outage(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="drwlab")
    faulty = UnreachableStore(store)
    with OutageLog() as log, Sandbox(faulty, tmp_path, time_scale=0, seed=5, autopilot=True) as sb:
        for uid in OUSS:
            sb.launch("2016.1.00001.S", uid)
        faulty.outage(OUTAGE)
        in_flight = _not_final(store)  # read past the wrapper: the store itself is fine
        assert faulty.wait_until_up(timeout=OUTAGE + 10)
        ends = [sb.wait_for_any(uid, FINAL_STATES, timeout=60) for uid in OUSS]

    assert in_flight, "every OUS was through before the outage began: nothing was tested"
    assert all(doc["state"] in FINAL_STATES for doc in ends)
    assert log.warnings and set(log.warnings.values()) == {1}, log.warnings  # once per loop
    assert set(log.recoveries) == set(log.warnings)  # and every loop said it was back
    assert log.retries >= len(log.warnings)
    assert faulty.refused >= log.retries
    assert max(faulty.refused_by_thread.values()) <= MOST_TRIES, faulty.refused_by_thread
    outages = [e for e in fault_events(store) if e["kind"] == "outage"]
    assert [(e["seconds"], e["refused"]) for e in outages] == [(OUTAGE, faulty.refused)]


def _not_final(store: Store) -> list[str]:
    return [
        doc["entityId"]
        for doc in store.all_docs(STATUS_DB)
        if doc.get("state") not in {state.value for state in FINAL_STATES}
    ]
