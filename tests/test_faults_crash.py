"""Crash a pipeline driver mid-run: the competing driver takes its OUS once the lease runs out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from drwlab.actors.launcher import Launcher
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.bus.message import DB
from drwlab.faults import crash_actor, fault_events
from drwlab.lifecycle import State
from drwlab.store import Store
from drwlab.uids import uid_to_doc_id
from drwlab.wire import STATUS_DB

LEASE = 2.0
UID = "uid://X1/X1/Xc1"


def driver(bus: MessageBus, store: Store, tmp_path: Path, name: str) -> PipelineDriver:
    return PipelineDriver(
        bus,
        store,
        executive="EU",
        cache_dir=tmp_path / "cache",
        work_dir=tmp_path / name,
        time_scale=0.5,  # a run of 1.5 to 4 s: long enough to crash it mid-run
        seed=1,
        failure_rate=0.0,
        name=name,
    )


def wait_for_state(store: Store, state: State, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        seq = store.current_seq(STATUS_DB)
        doc = store.get(STATUS_DB, uid_to_doc_id(UID))
        if doc["state"] == state.value:
            return doc
        assert time.monotonic() < deadline, f"{UID} is {doc['state']}, not {state.value}"
        store.wait_for_change(STATUS_DB, seq, 0.5)


def test_the_competing_driver_finishes_what_the_crashed_one_held(
    store: Store, tmp_path: Path
) -> None:
    with MessageBus(store, lease=LEASE) as bus, Xtss(bus, store):
        first = driver(bus, store, tmp_path, "pipeline-driver.EU.a").start()
        second = driver(bus, store, tmp_path, "pipeline-driver.EU.b")
        try:
            Launcher(bus, store).launch("2016.1.00001.S", UID)
            wait_for_state(store, State.PROCESSING)
            second.start()  # started now, so the first driver surely holds the OUS
            crash = crash_actor(bus, "pipeline-driver.EU.a")
            began = time.monotonic()
            entity = wait_for_state(store, State.READY_FOR_REVIEW)
            waited = time.monotonic() - began
        finally:
            second.stop()
            first.stop()

    [request] = store.find(DB, {"selector": "pipeline.process.EU"})
    assert crash.held == (request["_id"],)
    assert waited >= LEASE * 0.9  # the claim had to run out first
    assert request["handledBy"].startswith("pipeline-driver.EU.b-1@")
    assert request["errorHistory"][-1]["type"] == "LeaseExpired"
    states = [(entry["state"], entry["actor"]) for entry in entity["history"]]
    assert states[-2:] == [
        ("Processing", "pipeline-driver.EU.a"),  # no clean-up: no ProcessingProblem from it
        ("ReadyForReview", "pipeline-driver.EU.b"),
    ]
    assert len(store.find(DB, {"selector": "pipeline.report.JAO"})) == 1  # published once
    assert [e["kind"] for e in fault_events(store)] == ["crash"]
