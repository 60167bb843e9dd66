"""The checks of notebook 05 (faults): re-queue a fixed dead letter, crash a driver yourself.

Each exercise reads what the learner's actions left in the store, not in the
notebook's variables: the dead letter of the poison lesson (``ingest.files``,
the file ``X2.fits``) once re-queued, and a crash event (``fault-events``)
whose held pipeline request belongs to an OUS other than the lesson's. The
crash exercise is determined once the learner crashes the driver holding
the OUS: the lease runs out and a live driver takes it, whatever the timings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drwlab.bus.message import DB as MSGQ
from drwlab.bus.message import DEAD, DONE
from drwlab.errors import NotFound, UnknownOus
from drwlab.exercises.check import Check, missing, passed
from drwlab.exercises.context import sandbox_in
from drwlab.faults import fault_events
from drwlab.lifecycle import State

INGEST = "ingest.files"
POISON_FILE = "X2.fits"
LESSON_OUS = "uid://X1/X1/Xc0"
EXERCISE_OUS = "uid://X1/X1/Xc1"
PIPELINE = "pipeline.process.EU"
IN_FLIGHT = (State.READY_FOR_PROCESSING.value, State.PROCESSING.value)


def _actor(listener: str) -> str:
    """``pipeline-driver.EU.2-1@host:pid`` -> ``pipeline-driver.EU.2``."""
    return listener.split("@")[0].rsplit("-", 1)[0]


def requeue_dead_letter(namespace: Mapping[str, Any]) -> Check:
    """The poison message X2.fits re-queued once its cause was fixed, then handled once."""
    name = "05-requeue-dead-letter"
    docs = [
        doc
        for doc in sandbox_in(namespace).store.find(MSGQ, {"selector": INGEST})
        if isinstance(doc.get("body"), dict) and doc["body"].get("file") == POISON_FILE
    ]
    if not docs:
        return missing(name, f"no message about {POISON_FILE} on {INGEST}: run the lesson's cells")
    doc = docs[-1]
    requeues = doc.get("requeues") or []
    if doc.get("state") == DEAD and not requeues:
        return missing(
            name,
            f"{POISON_FILE} is a dead letter: define ingest again so that it reads sizes "
            "such as '2 kB', then requeue(sb.bus, <its _id>)",
        )
    if doc.get("state") not in (DONE, DEAD):
        return missing(name, f"{POISON_FILE} is being handled again", pending=True)
    if doc.get("state") == DEAD:
        return missing(
            name,
            f"{POISON_FILE} was re-queued but failed again ({doc.get('error')}): "
            "fix ingest first, then requeue it once more",
        )
    if doc.get("attempts") != 1:
        return missing(name, f"after its re-queue {POISON_FILE} took {doc.get('attempts')} tries")
    return passed(
        name,
        f"{POISON_FILE} re-queued {len(requeues)} time(s) and handled at once; "
        f"its old error is kept: {doc.get('error')}",
    )


def _exercise_crashes(namespace: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(crashed actor, held pipeline request) of every crash but the lesson's."""
    store = sandbox_in(namespace).store
    found = []
    for event in fault_events(store):
        if event.get("kind") != "crash":
            continue
        for message_id in event.get("held") or []:
            try:
                message = store.get(MSGQ, message_id)
            except NotFound:
                continue
            body = message.get("body")
            uid = body.get("ousUID") if isinstance(body, dict) else None
            if message.get("selector") == PIPELINE and uid and uid != LESSON_OUS:
                found.append((str(event.get("actor")), message))
    return found


def crash_the_survivor(namespace: Mapping[str, Any]) -> Check:
    """A driver crashed while holding an OUS (not the lesson's); another took it to review."""
    name = "05-crash-the-survivor"
    sandbox = sandbox_in(namespace)
    crashes = _exercise_crashes(namespace)
    if not crashes:
        try:
            state = sandbox.entity(EXERCISE_OUS).get("state")
        except UnknownOus:
            return missing(name, f"launch {EXERCISE_OUS}, then crash the driver that holds it")
        return missing(
            name,
            f"no crash of a driver holding {EXERCISE_OUS} or another new OUS ({EXERCISE_OUS} "
            f"is {state}): crash sb.holder(uid) while the OUS is Processing; a crash that "
            "came after the run held nothing",
        )
    crashed, message = crashes[-1]
    uid = message["body"]["ousUID"]
    state = sandbox.entity(uid).get("state")
    live = [
        listener.name
        for listener in sandbox.bus.listeners
        if listener.selector == PIPELINE and not getattr(listener, "crashed", False)
    ]
    if state in IN_FLIGHT and not live:
        return missing(
            name,
            f"{crashed} crashed holding {uid}, but no driver is left to take it over: "
            "start one with sb.add_pipeline_driver()",
        )
    if state in IN_FLIGHT or message.get("state") != DONE:
        return missing(name, f"{uid} waits for the lease to run out", pending=True)
    if state == State.PROCESSING_PROBLEM.value:
        return missing(name, f"{uid}'s pipeline failed after the take-over: launch a new OUS")
    taker = _actor(str(message.get("handledBy", "")))
    return passed(
        name,
        f"{crashed} crashed holding {uid}; after the lease ran out {taker} took it to {state}",
    )
