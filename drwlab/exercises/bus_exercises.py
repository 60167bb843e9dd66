"""The checks of notebook 01 (the message bus): competing listeners, a handler that fails once.

Each exercise has a selector of its own (``exercise.work``, ``exercise.flaky``)
that no other cell of the notebook touches, so what the check reads is the
learner's doing alone. Which worker handles which message is a race the bus
does not settle in advance, so the first check asks what the bus guarantees
(every message handled exactly once, by one of the three listeners, worker-C
among them) and reports the split, instead of requiring a split it cannot
promise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from drwlab.bus import MessageBus
from drwlab.bus.message import DB as MSGQ
from drwlab.bus.message import DEAD, DONE
from drwlab.exercises.check import Check, instances, missing, passed
from drwlab.exercises.context import sandbox_in

WORK = "exercise.work"
NUMBERS = range(100, 130)
WORKERS = ("worker-A", "worker-B", "worker-C")
FLAKY = "exercise.flaky"


def _listening(namespace: Mapping[str, Any], selector: str) -> set[str]:
    """Names of the learner's running listeners on ``selector``, on any MessageBus variable
    or on the sandbox's own bus (``sb.bus.listen`` is as natural as ``bus.listen``)."""
    buses = [*instances(namespace, MessageBus), sandbox_in(namespace).bus]
    return {
        listener.name
        for bus in buses
        for listener in bus.listeners
        if listener.selector == selector
    }


def _worker(doc: Mapping[str, Any]) -> str:
    return str(doc.get("handledBy") or "").split("@")[0]


def competing_listeners(namespace: Mapping[str, Any]) -> Check:
    """Three listeners on exercise.work; messages 100..129 each handled exactly once."""
    name = "01-competing-listeners"
    listening = _listening(namespace, WORK)
    absent = [w for w in WORKERS if w not in listening]
    if absent:
        return missing(
            name,
            f"start {', '.join(absent)} with bus.listen({WORK!r}, handler, "
            f"name=...); running on {WORK} now: {sorted(listening) or 'none'}",
        )
    docs = sandbox_in(namespace).store.find(MSGQ, {"selector": WORK})
    numbered = [
        d for d in docs if isinstance(d.get("body"), dict) and d["body"].get("n") in NUMBERS
    ]
    unsent = [n for n in NUMBERS if all(d["body"]["n"] != n for d in numbered)]
    if unsent:
        return missing(
            name,
            f"send {{'n': n}} on {WORK} for n from 100 to 129; "
            f"{len(unsent)} of those numbers were never sent",
        )
    waiting = [d for d in numbered if d.get("state") not in (DONE, DEAD)]
    if waiting:
        return missing(name, f"{len(waiting)} messages are still being handled", pending=True)
    troubled = [d for d in numbered if d.get("state") == DEAD or d.get("attempts") != 1]
    if troubled:
        return missing(
            name,
            f"{len(troubled)} messages needed more than one attempt: "
            "the handler should just record the message, never raise",
        )
    split = Counter(_worker(d) for d in numbered)
    strangers = sorted(set(split) - set(WORKERS))
    if strangers:
        return missing(
            name,
            f"messages were handled by {strangers}: only worker-A, -B and -C "
            f"should listen on {WORK}",
        )
    shares = ", ".join(f"{w} {split.get(w, 0)}" for w in WORKERS)
    return passed(
        name,
        f"{len(numbered)} messages, each handled exactly once ({shares}: "
        "the split is whoever claimed first)",
    )


def flaky_handler(namespace: Mapping[str, Any]) -> Check:
    """A message on exercise.flaky done after exactly 2 attempts, the first error kept."""
    name = "01-flaky-handler"
    docs = sandbox_in(namespace).store.find(MSGQ, {"selector": FLAKY})
    if not docs:
        listening = _listening(namespace, FLAKY)
        what = "send one message on it" if listening else f"listen on {FLAKY} and send a message"
        return missing(name, f"no message on {FLAKY} yet: {what}")
    if any(d.get("state") not in (DONE, DEAD) for d in docs):
        return missing(name, "the message is still being handled or retried", pending=True)
    good = [d for d in docs if d.get("state") == DONE and d.get("attempts") == 2 and d.get("error")]
    if good:
        return passed(name, f"retried once and done; the first error is kept: {good[-1]['error']}")
    last = docs[-1]
    if last.get("state") == DEAD:
        why = "your handler raised every time: let it succeed from the second call on"
    elif last.get("attempts") == 1:
        why = "your handler succeeded at once: make it raise on the first call only"
    else:
        why = f"the message took {last.get('attempts')} attempts: raise on the first call only"
    return missing(name, why)
