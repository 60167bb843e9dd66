"""The checks of notebook 06 (your own actor): a redelivery is a duplicate, your own QA2 rule.

The first check plays the bus for the actor running as ``shortest-queue``: it
hands its ``handle`` one request twice, the second time as a redelivery
(``attempts`` 2, as when a lease ran out after the work was done), then a
request marked as a redelivery whose first delivery did nothing (its handler
failed before any work). Each request is about an OUS of the exercise's own
(``Xe0``, ``Xe1``, ...: the first uids without a status), which nothing else in
the notebook touches, so the outcome does not depend on timing: the first
request must be assigned and sent once, the second assigned and sent. Before
the learner put an actor of their own in place (Run All), the actor running is
still the notebook's ``ShortestQueue`` added as ``dra``: the check says so and
hands it nothing, so Run All assigns and processes no OUS of the exercise.

The second check asks the rule of the AQUA QA2 running in the sandbox
(``sb.qa2.autopilot``) about made-up runs, one per band of lowest score;
nothing is launched, so the answer is the same every time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from drwlab.actors import Review
from drwlab.actors.aqua_qa2 import parse_flag
from drwlab.bus.message import new_message
from drwlab.errors import UnknownOus
from drwlab.exercises.check import Check, missing, passed
from drwlab.exercises.context import sandbox_in
from drwlab.lifecycle import QA2Flag
from drwlab.pipeline import STAGES
from drwlab.products import PipelineReport, QAScore
from drwlab.qa import qa_band
from drwlab.sandbox import Sandbox
from drwlab.wire import MSGQ

ACTOR = "shortest-queue"
NOTEBOOK_CLASS, NOTEBOOK_ACTOR = "ShortestQueue", "dra"
"""The notebook's own actor: its class, and the name it is bound to when added."""
ASSIGN = "dra.assign"
PROJECT = "2015.1.00657.S"
RECIPE = "PipelineCalibration"
EXERCISE_OUS = "uid://X1/X1/Xe{}"
"""The exercise's own OUSs: Xe0, Xe1, ..."""
PROCESS_PREFIX = "pipeline.process."
CREATED = "create"
"""The XTSS's operation in an OUS's history when it is created or queued again."""

RULE_CASES: tuple[tuple[float, QA2Flag], ...] = (
    (0.93, QA2Flag.PASS),
    (0.72, QA2Flag.PASS),
    (0.52, QA2Flag.SEMIPASS),
    (0.21, QA2Flag.FAIL),
)
"""(lowest stage score of a made-up run, the flag the exercise's rule gives it)."""
LOW_STAGE = 5
"""The stage scored lowest in the made-up runs (hifa_bandpass)."""


# -- exercise 1: a redelivery is a duplicate ----------------------------------------
def _fresh_uids(sandbox: Sandbox, count: int) -> list[str]:
    """The first ``count`` exercise uids without a status entity."""
    fresh: list[str] = []
    number = 0
    while len(fresh) < count:
        uid = EXERCISE_OUS.format(number)
        try:
            sandbox.entity(uid)
        except UnknownOus:
            fresh.append(uid)
        number += 1
    return fresh


def _request(uid: str, attempts: int) -> dict[str, Any]:
    """A ``dra.assign`` message as a listener claims it, on its ``attempts``-th delivery."""
    message = new_message(ASSIGN, {"progID": PROJECT, "ousUID": uid, "recipe": RECIPE})
    message["attempts"] = attempts
    return message


def _assignments(sandbox: Sandbox, uid: str) -> int:
    """How many times the XTSS created or queued ``uid`` again."""
    try:
        history = sandbox.entity(uid).get("history") or []
    except UnknownOus:
        return 0
    return sum(1 for entry in history if entry.get("operation") == CREATED)


def _requests_sent(sandbox: Sandbox, uid: str) -> int:
    """How many processing requests for ``uid`` were sent to any pipeline driver."""
    sent = 0
    for message in sandbox.store.find(MSGQ, {}):
        if not str(message.get("selector", "")).startswith(PROCESS_PREFIX):
            continue
        body = message.get("body")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                continue
        if isinstance(body, dict) and body.get("ousUID") == uid:
            sent += 1
    return sent


def _deliver(handle: Callable[[Any], object], message: dict[str, Any]) -> str | None:
    """Hand ``message`` to ``handle``; what it raised, in words (None if it returned)."""
    try:
        handle(message)
    except Exception as error:  # the learner's code: any error is an answer to report
        return f"{type(error).__name__}: {error}"
    return None


def _effects(sandbox: Sandbox, uid: str) -> str:
    assigned, sent = _assignments(sandbox, uid), _requests_sent(sandbox, uid)
    return f"assigned {assigned} time(s), {sent} processing request(s) sent"


def redelivery(namespace: Mapping[str, Any]) -> Check:
    """The actor running as shortest-queue does a request once, and a redelivered one once."""
    name = "06-redelivery"
    sandbox = sandbox_in(namespace)
    actor = sandbox.actors.get(ACTOR)
    handle = getattr(actor, "handle", None)
    if not callable(handle):
        return missing(
            name, f"no actor with a handle(message) runs as {ACTOR!r}: run the cells above first"
        )
    if actor is namespace.get(NOTEBOOK_ACTOR) and type(actor) is namespace.get(NOTEBOOK_CLASS):
        return missing(
            name,
            f"{ACTOR} still runs the notebook's {NOTEBOOK_CLASS}, which does a redelivered "
            f"request again: put your class in place with sb.replace_actor({ACTOR!r}, "
            "YourClass(sb.bus, sb.store))",
        )
    twice, once_failed = _fresh_uids(sandbox, 2)
    first = _request(twice, attempts=1)
    error = _deliver(handle, first)
    if error is not None or _assignments(sandbox, twice) != 1:
        return missing(
            name, f"a first delivery for {twice} failed ({error or _effects(sandbox, twice)})"
        )
    error = _deliver(handle, {**first, "attempts": 2})
    if (
        error is not None
        or _assignments(sandbox, twice) != 1
        or _requests_sent(sandbox, twice) != 1
    ):
        what = f"raised {error}" if error else _effects(sandbox, twice)
        return missing(
            name,
            f"the same request for {twice}, delivered again, was done again ({what}): look in "
            "the OUS's history for this request's id and return if it is there",
        )
    error = _deliver(handle, _request(once_failed, attempts=2))
    if error is not None or _assignments(sandbox, once_failed) != 1:
        what = f"raised {error}" if error else _effects(sandbox, once_failed)
        return missing(
            name,
            f"a redelivered request for {once_failed} whose first delivery did nothing was "
            f"dropped ({what}): a redelivery is a duplicate only if its work is done",
        )
    return passed(
        name,
        f"a request delivered twice assigned {twice} once, and a redelivery whose first "
        f"try did nothing assigned {once_failed}",
    )


# -- exercise 2: your own QA2 rule --------------------------------------------------
def made_up_review(lowest: float) -> Review:
    """A review of a run whose stages are all good but hifa_bandpass, scored ``lowest``."""
    scores = [QAScore(stage, title, max(lowest, 0.95)) for stage, title in STAGES]
    scores[LOW_STAGE].score = lowest
    uid = EXERCISE_OUS.format("rule")
    report = PipelineReport(uid, PROJECT, "EU", RECIPE, "2026-01-01T00:00:00.000", scores)
    return Review(
        uid=uid,
        state="Reviewing",
        report=report,
        report_xml="",
        weblog_url=None,
        weblog_path=None,
        timestamp=report.timestamp,
        products_dir="",
        source="exercise",
    )


def qa2_rule(namespace: Mapping[str, Any]) -> Check:
    """The AQUA in place decides by a rule: Pass, SemiPass for a warning, Fail for an error."""
    name = "06-your-rule"
    rule = sandbox_in(namespace).qa2.autopilot
    if rule is None:
        return missing(
            name,
            "AQUA decides nothing by itself: put an AquaQA2 with your rule in place "
            "(sb.replace_actor('aqua-qa2', AquaQA2(..., autopilot=your_rule)))",
        )
    if not callable(rule):
        return missing(
            name, f"the AQUA in place gives {rule.value} to every run: give it your function"
        )
    for lowest, expected in RULE_CASES:
        stage = STAGES[LOW_STAGE][0]
        run = f"a run whose lowest stage is {stage} at {lowest} ({qa_band(lowest).name})"
        try:
            flag = parse_flag(rule(made_up_review(lowest)))
        except Exception as error:  # the learner's rule: report whatever it raised
            return missing(
                name, f"the rule in place raised {type(error).__name__}: {error} on {run}"
            )
        if flag is not expected:
            return missing(
                name, f"the rule in place gives {flag.value} to {run}: expected {expected.value}"
            )
    return passed(
        name,
        "your rule is in place: an error fails a run, a warning semi-passes it, "
        "the rest pass; AQUA decides every OUS reaching ReadyForReview with it",
    )
