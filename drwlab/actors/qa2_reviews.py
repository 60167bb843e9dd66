"""Who reviewed an OUS and what they decided, read from its status entity's history.

AQUA sends its review and decision requests to the XTSS with the reviewer's
name as the request's ``actor`` (``AquaQA2(reviewer="ana")``; without a
reviewer, the actor's own name), and a decision's ``reason`` is
``"QA2 <flag>"``. The XTSS keeps both in the entity's ``history``, so nothing
new travels on the wire: the original's tools ignore ``history``, and every
drwlab process sharing the store (the instructor's view of a class, any
learner's AQUA) reads the same record. This module is that record's one
writer of the reason text and its one reader:

- ``reviewer_of(entity)``: who has the OUS under review now (None if nobody);
- ``reviews_of(entity)``: every review of the OUS, oldest first, each with its
  reviewer, when it started and, once taken, the decision and when.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drwlab.lifecycle import QA2Flag, State

DECISION_PREFIX = "QA2 "
"""A decision's ``reason`` in the history: ``"QA2 Pass"``."""
REVIEWER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A reviewer's name: letters, digits, ``_.-``, starting with a letter or digit (fullmatch)."""
_STARTED = "set-state"
"""The operation of the history entry that put the OUS in Reviewing."""


def check_reviewer(name: object) -> str:
    """``name`` if it can name a reviewer (``REVIEWER_NAME``); else ValueError saying why."""
    if not isinstance(name, str) or not REVIEWER_NAME.fullmatch(name):
        raise ValueError(
            f"not a reviewer's name: {name!r}; use letters, digits, '_', '.' or '-' "
            "(at most 64, starting with a letter or digit), e.g. 'ana'"
        )
    return name


def decision_reason(flag: QA2Flag) -> str:
    """The ``reason`` AQUA gives the XTSS with decision ``flag``: ``"QA2 Pass"``."""
    return f"{DECISION_PREFIX}{flag.value}"


def decision_of(entry: Mapping[str, Any]) -> QA2Flag | None:
    """The QA2 decision a history entry records (by its ``reason``), or None."""
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.startswith(DECISION_PREFIX):
        return None
    try:
        return QA2Flag(reason.removeprefix(DECISION_PREFIX))
    except ValueError:
        return None


def _starts_review(entry: Mapping[str, Any]) -> bool:
    return entry.get("state") == State.REVIEWING.value and entry.get("operation") == _STARTED


@dataclass(frozen=True)
class ReviewRecord:
    """One review of an OUS: who started it and when, and its decision once taken."""

    uid: str
    reviewer: str
    started: str
    decision: str | None = None
    decided_by: str | None = None
    decided: str | None = None


def reviews_of(entity: Mapping[str, Any]) -> list[ReviewRecord]:
    """Every review the history of ``entity`` records, oldest first."""
    uid = str(entity.get("entityId"))
    found: list[ReviewRecord] = []
    open_review: ReviewRecord | None = None
    for entry in entity.get("history") or []:
        if not isinstance(entry, Mapping):
            continue
        if _starts_review(entry):
            if open_review is not None:  # moved back without a decision (another tool)
                found.append(open_review)
            open_review = ReviewRecord(uid, str(entry.get("actor")), str(entry.get("timestamp")))
            continue
        flag = decision_of(entry)
        if open_review is not None and flag is not None:
            found.append(
                ReviewRecord(
                    uid,
                    open_review.reviewer,
                    open_review.started,
                    flag.value,
                    str(entry.get("actor")),
                    str(entry.get("timestamp")),
                )
            )
            open_review = None
    if open_review is not None:
        found.append(open_review)
    return found


def reviewer_of(entity: Mapping[str, Any]) -> str | None:
    """Who has ``entity`` under review now: the actor that put it in Reviewing (None if
    the OUS is not in Reviewing, or its history does not say)."""
    if entity.get("state") != State.REVIEWING.value:
        return None
    for entry in reversed(entity.get("history") or []):
        if isinstance(entry, Mapping) and _starts_review(entry):
            actor = entry.get("actor")
            return str(actor) if actor else None
    return None
