"""Read models beyond tables: failures are what the life-cycle table calls failures."""

from __future__ import annotations

from drwlab.lifecycle import FAILURES, State
from drwlab.views.analysis import failures
from drwlab.views.registry import TABLES
from drwlab.views.tables import frame

U = "uid://X1/X1/Xb0"
PATH = (
    State.READY_FOR_PROCESSING,
    State.PROCESSING,
    State.PROCESSING_PROBLEM,
    State.READY_FOR_PROCESSING,
    State.PROCESSING,
    State.READY_FOR_REVIEW,
    State.REVIEWING,
    State.READY_FOR_PROCESSING,
)


def test_failures_are_the_transitions_the_lifecycle_table_marks() -> None:
    rows = [
        {"uid": U, "state": s.value, "timestamp": f"2024-03-01T12:00:0{i}.000", "reason": None}
        for i, s in enumerate(PATH)
    ]
    history = frame(rows, TABLES["state-history"].columns)
    status = frame([{"uid": U, "problem": "disk full"}], TABLES["status-entities"].columns)

    found = failures(status, history).to_dict("records")

    assert [row["kind"] for row in found] == [
        FAILURES[(State.PROCESSING, State.PROCESSING_PROBLEM)],
        FAILURES[(State.REVIEWING, State.READY_FOR_PROCESSING)],
    ]
    assert found[0]["reason"] == "disk full"  # no reason in the history: the entity's problem
    assert [row["timestamp"] for row in found] == [rows[2]["timestamp"], rows[7]["timestamp"]]
