"""The checks of notebook 03 (QA2): cancel then fail a review, and deciding twice.

The first exercise has an OUS of its own (Xb2) that no other cell decides;
the second only tries (and fails) to decide again on the OUS the notebook
semi-passed in code (Xb1), which changes nothing. The second check accepts
the error kept under any name: ``except ReviewError as error: answer = error``
(Python deletes ``error`` itself when the ``except`` block ends, so it has to
be kept), and says so when it sees the error raised but not kept.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from drwlab.actors.aqua_qa2 import AquaQA2
from drwlab.errors import ReviewError, UnknownOus
from drwlab.exercises.check import Check, instances, missing, passed
from drwlab.exercises.context import sandbox_in
from drwlab.lifecycle import QA2Flag, State
from drwlab.sandbox import Sandbox

CANCEL_FAIL_OUS = "uid://X1/X1/Xb2"
DECIDED_OUS = "uid://X1/X1/Xb1"
_CANCEL, _FAIL = f"QA2 {QA2Flag.CANCEL.value}", f"QA2 {QA2Flag.FAIL.value}"
_PASSED = {s.value for s in (State.VERIFIED, State.DELIVERY_IN_PROGRESS, State.DELIVERED)}
_IN_FLIGHT = {State.READY_FOR_PROCESSING.value, State.PROCESSING.value}


def _next_step(state: object, cancelled: bool) -> str:
    """What the learner should do next for Xb2, from where it is."""
    flag = "Fail" if cancelled else "Cancel"
    if state == State.REVIEWING.value:
        return f"it is Reviewing: decide {flag} (sb.qa2.decide({CANCEL_FAIL_OUS!r}, {flag!r}))"
    if state == State.READY_FOR_REVIEW.value:
        again = " again" if cancelled else ""
        return f"review it{again} (sb.qa2.review({CANCEL_FAIL_OUS!r})), then decide {flag}"
    if state in _PASSED:
        return f"it is {state}: it was passed, so it cannot be reviewed again"
    if state == State.READY_FOR_PROCESSING.value and not cancelled:
        return "it was failed without a Cancel first: relaunch it (sb.launch) to start over"
    return f"it is {state}: relaunch it (sb.launch) and review it when it is ReadyForReview"


def cancel_then_fail(namespace: Mapping[str, Any]) -> Check:
    """Xb2 reviewed and cancelled, then reviewed again and failed."""
    name = "03-cancel-then-fail"
    try:
        entity = sandbox_in(namespace).entity(CANCEL_FAIL_OUS)
    except UnknownOus:
        return missing(name, f"{CANCEL_FAIL_OUS} does not exist: run the cell that launches it")
    reasons = [change.get("reason") for change in entity.get("history") or []]
    cancels = [i for i, reason in enumerate(reasons) if reason == _CANCEL]
    failed_after = cancels and any(r == _FAIL for r in reasons[cancels[0] + 1 :])
    if failed_after:
        return passed(
            name,
            f"cancelled, then failed: {CANCEL_FAIL_OUS} went back to "
            "ReadyForReview, then to ReadyForProcessing",
        )
    if entity.get("state") in _IN_FLIGHT and _FAIL not in reasons:
        return missing(name, f"{CANCEL_FAIL_OUS} is still being processed", pending=True)
    return missing(name, _next_step(entity.get("state"), bool(cancels)))


def raised_on(sandbox: Sandbox, error: BaseException) -> bool:
    """True when an AQUA QA2 on ``sandbox``'s bus raised ``error`` (read from its traceback).

    A notebook run again starts a new sandbox, while the error kept by the first
    run stays in the notebook's variables: it tells nothing about this run.
    """
    trace = error.__traceback__
    while trace is not None:
        raiser = trace.tb_frame.f_locals.get("self")
        if isinstance(raiser, AquaQA2):
            return raiser.bus is sandbox.bus
        trace = trace.tb_next
    return False


def decide_twice(namespace: Mapping[str, Any]) -> Check:
    """A ReviewError from deciding again on Xb1 in this sandbox, kept in a variable."""
    name = "03-decide-twice"
    sandbox = sandbox_in(namespace)
    about = [error for error in instances(namespace, ReviewError) if DECIDED_OUS in str(error)]
    kept = [error for error in about if raised_on(sandbox, error)]
    if kept:
        return passed(name, f"AQUA refused, as it should: {kept[-1]}")
    if about:
        return missing(
            name,
            "the ReviewError you kept was not raised by this sandbox's AQUA QA2 (an earlier "
            f"run's, or made by hand): run your cell deciding on {DECIDED_OUS} again",
        )
    others = instances(namespace, ReviewError)
    if others:
        return missing(
            name,
            f"the ReviewError you kept is about another OUS ({others[-1]}); "
            f"decide on {DECIDED_OUS}",
        )
    uncaught = getattr(sys, "last_value", None)
    if isinstance(uncaught, ReviewError):
        return missing(
            name,
            "the ReviewError was raised but not kept: catch it with "
            "'except ReviewError as error:' and keep it inside the block "
            "('answer = error'): Python deletes 'error' when the block ends",
        )
    return missing(
        name,
        f"call sb.qa2.decide({DECIDED_OUS!r}, 'Pass') in a try block, catch "
        "ReviewError (from drwlab.errors) and keep it in a variable",
    )
