"""Who reviewed an OUS, read from its history: none, open, decided, reviewed again."""

from __future__ import annotations

from typing import Any

import pytest

from drwlab.actors.qa2_reviews import (
    ReviewRecord,
    check_reviewer,
    decision_of,
    decision_reason,
    reviewer_of,
    reviews_of,
)
from drwlab.lifecycle import QA2Flag

UID = "uid://X1/X1/Xb2"


def change(state: str, actor: str, when: str, reason: str | None = None) -> dict[str, Any]:
    """One history entry as the XTSS writes it for a set-state."""
    entry = {"state": state, "substate": None, "timestamp": when, "actor": actor}
    entry["operation"] = "set-state"
    return entry | ({"reason": reason} if reason else {})


def entity(*history: dict[str, Any]) -> dict[str, Any]:
    state = history[-1]["state"] if history else "ReadyForProcessing"
    return {"entityId": UID, "state": state, "history": list(history)}


READY = change("ReadyForReview", "pipeline-driver.EU", "2026-12-07T08:00:00.000")


def test_an_ous_never_reviewed_has_no_review_and_no_reviewer() -> None:
    assert reviews_of(entity()) == []
    assert reviews_of(entity(READY)) == []
    assert reviewer_of(entity(READY)) is None


def test_an_open_review_names_its_reviewer_and_has_no_decision() -> None:
    started = change("Reviewing", "ana", "2026-12-07T08:00:01.000", "QA2 review started")
    reviewed = entity(READY, started)
    assert reviewer_of(reviewed) == "ana"
    assert reviews_of(reviewed) == [ReviewRecord(UID, "ana", "2026-12-07T08:00:01.000")]


def test_a_decided_review_has_its_flag_and_time_and_nobody_reviews_it_any_more() -> None:
    started = change("Reviewing", "ana", "2026-12-07T08:00:01.000", "QA2 review started")
    passed = change("Verified", "ana", "2026-12-07T08:00:09.000", decision_reason(QA2Flag.PASS))
    delivering = change("DeliveryInProgress", "aqua-qa2", "2026-12-07T08:00:09.500")
    decided = entity(READY, started, passed, delivering)
    assert reviewer_of(decided) is None
    assert reviews_of(decided) == [
        ReviewRecord(
            UID, "ana", "2026-12-07T08:00:01.000", "Pass", "ana", "2026-12-07T08:00:09.000"
        )
    ]


def test_an_ous_failed_and_reviewed_again_has_two_reviews_in_order() -> None:
    history = [
        READY,
        change("Reviewing", "ana", "2026-12-07T08:00:01.000"),
        change("ReadyForProcessing", "ana", "2026-12-07T08:00:02.000", "QA2 Fail"),
        change("ReadyForReview", "pipeline-driver.EU", "2026-12-07T08:01:00.000"),
        change("Reviewing", "bo", "2026-12-07T08:01:01.000"),
        change("ReadyForReview", "bo", "2026-12-07T08:01:02.000", "QA2 Cancel"),
        change("Reviewing", "cy", "2026-12-07T08:01:03.000"),
    ]
    found = reviews_of(entity(*history))
    assert [(r.reviewer, r.decision) for r in found] == [
        ("ana", "Fail"),
        ("bo", "Cancel"),
        ("cy", None),
    ]
    assert reviewer_of(entity(*history)) == "cy"


def test_a_review_another_tool_ended_without_a_decision_stays_undecided() -> None:
    history = [
        READY,
        change("Reviewing", "ana", "2026-12-07T08:00:01.000"),
        change("ReadyForReview", "original-aqua", "2026-12-07T08:00:02.000", "by hand"),
        change("Reviewing", "bo", "2026-12-07T08:00:03.000"),
    ]
    assert [(r.reviewer, r.decision) for r in reviews_of(entity(*history))] == [
        ("ana", None),
        ("bo", None),
    ]


@pytest.mark.parametrize("reason", [None, "", "QA2 review started", "QA2 Maybe", "relaunch"])
def test_only_a_qa2_flag_reads_as_a_decision(reason: str | None) -> None:
    assert decision_of({"reason": reason}) is None


@pytest.mark.parametrize("flag", list(QA2Flag))
def test_every_flag_reads_back_from_its_reason(flag: QA2Flag) -> None:
    assert decision_of({"reason": decision_reason(flag)}) is flag


@pytest.mark.parametrize("name", ["", "-ana", "ana bo", "a/b", "x" * 65, None, 7])
def test_a_reviewer_name_that_cannot_be_recorded_is_refused(name: object) -> None:
    with pytest.raises(ValueError, match="not a reviewer's name"):
        check_reviewer(name)


def test_a_plain_name_is_a_reviewer() -> None:
    assert check_reviewer("ana.k_2") == "ana.k_2"
