"""Fixtures and helpers of the actor tests: a bus and a running XTSS on each backend's store."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.lifecycle import State
from drwlab.pipeline import run_pipeline
from drwlab.products import ProductsTree
from drwlab.store import Store
from drwlab.store.base import Doc
from drwlab.uids import uid_to_doc_id

PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xb2"

PATH_TO: dict[State, list[State]] = {
    State.READY_FOR_PROCESSING: [],
    State.PROCESSING: [State.PROCESSING],
    State.PROCESSING_PROBLEM: [State.PROCESSING, State.PROCESSING_PROBLEM],
    State.READY_FOR_REVIEW: [State.PROCESSING, State.READY_FOR_REVIEW],
    State.REVIEWING: [State.PROCESSING, State.READY_FOR_REVIEW, State.REVIEWING],
    State.VERIFIED: [State.PROCESSING, State.READY_FOR_REVIEW, State.REVIEWING, State.VERIFIED],
    State.DELIVERY_IN_PROGRESS: [
        State.PROCESSING,
        State.READY_FOR_REVIEW,
        State.REVIEWING,
        State.VERIFIED,
        State.DELIVERY_IN_PROGRESS,
    ],
}


@pytest.fixture
def bus(store: Store) -> Iterator[MessageBus]:
    """A bus with quick retries; every listener it started is stopped afterwards."""
    opened = MessageBus(store, lease=5.0, max_attempts=3, retry_delay=0.05)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def xtss(bus: MessageBus, store: Store) -> Iterator[Xtss]:
    """A running (strict) XTSS."""
    actor = Xtss(bus, store).start()
    try:
        yield actor
    finally:
        actor.stop()


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Return ``condition()``'s first true value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not met within {timeout} s: {what or condition}")
        time.sleep(0.02)


def entity(store: Store, uid: str = UID) -> Doc:
    """The status entity of ``uid``."""
    return store.get("status-entities", uid_to_doc_id(uid))


def wait_for_state(store: Store, uid: str, state: State, timeout: float = 15.0) -> Doc:
    """Wait until ``uid`` is in ``state``; return its entity."""

    def reached() -> Doc | None:
        try:
            doc = entity(store, uid)
        except Exception:
            return None
        return doc if doc.get("state") == state.value else None

    found: Doc = wait_until(reached, timeout, f"{uid} in {state.value}")
    return found


def bring_to(
    xtss: Xtss, state: State, uid: str = UID, executive: str = "EU", *, run: str | None = None
) -> Doc:
    """Create ``uid`` and walk it along the legal path to ``state`` (directly, no bus);
    ``run``: the pipeline run it is in (recorded as a driver records it)."""
    doc = xtss.create(uid, PROG, "PipelineCalibration", executive, actor="test")
    for step in PATH_TO[state]:
        recorded = run if step in (State.PROCESSING, State.READY_FOR_REVIEW) else None
        doc = xtss.set_state(uid, step, actor="test", run=recorded)
    return doc


def make_products(
    root: Path, uid: str = UID, timestamp: str = "2018-07-19T07:10:03.781"
) -> ProductsTree:
    """A complete products tree of one pipeline run under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    return run_pipeline(
        PROG,
        uid,
        "EU",
        root,
        time_scale=0,
        failure_rate=0,
        rng=random.Random(7),
        timestamp=timestamp,
    )


def dead_letter(bus: MessageBus, message_id: str) -> Doc | None:
    """The dead-lettered message ``message_id``, if it is dead."""
    return next((m for m in bus.dead_letters() if m["_id"] == message_id), None)


def wait_dead(bus: MessageBus, message_id: str, timeout: float = 15.0) -> Doc:
    """Wait until ``message_id`` is dead-lettered; return it (with its ``error``)."""
    found: Doc = wait_until(lambda: dead_letter(bus, message_id), timeout, "dead letter")
    return found


def wait_done(store: Store, message_id: str, timeout: float = 15.0) -> Doc:
    """Wait until ``message_id`` was handled successfully."""
    found: Doc = wait_until(
        lambda: (doc := store.get("msgq", message_id)).get("state") == "done" and doc,
        timeout,
        "message done",
    )
    return found
