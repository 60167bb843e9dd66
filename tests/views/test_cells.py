"""A message's errors and a fault event read as text a person understands, whatever their shape."""

from __future__ import annotations

from drwlab.views.cells import (
    describe_error_history,
    describe_fault,
    describe_requeues,
    fault_actor,
)

CRASH = {
    "kind": "crash",
    "timestamp": "2026-12-07T06:30:00.100",
    "actor": "pipeline-driver.EU",
    "listeners": ["pipeline-driver.EU-1"],
    "held": ["m1@pipeline.process.EU"],
    "lease": 5.0,
}
OUTAGE = {
    "kind": "outage",
    "timestamp": "2026-12-07T06:31:03.000",
    "began": "2026-12-07T06:31:00.000",
    "ended": "2026-12-07T06:31:03.000",
    "seconds": 3,
    "refused": 17,
}
REQUEUE = {
    "kind": "requeue",
    "message": "m2@ingest.files",
    "selector": "ingest.files",
    "error": "ValueError: invalid literal for int(): '2 kB'",
    "by": "learner@host:1",
}


def test_each_failure_of_a_message_is_one_line_with_its_time_and_attempt() -> None:
    history = [
        {"type": "ValueError", "message": "bad size", "timestamp": "T1", "attempt": 1},
        {"type": "LeaseExpired", "message": "a-1@h:1 did not finish", "timestamp": "T2"},
        "an entry another tool wrote",
    ]
    assert describe_error_history(history) == (
        "T1 attempt 1: ValueError: bad size\n"
        "T2: LeaseExpired: a-1@h:1 did not finish\n"
        "an entry another tool wrote"
    )
    assert describe_error_history([]) is None
    assert describe_error_history({"not": "a list"}) is None


def test_requeues_say_who_put_the_message_back_and_when() -> None:
    requeues = [{"by": "a learner", "timestamp": "T3"}, {"by": "ops", "timestamp": "T4"}]
    assert describe_requeues(requeues) == "re-queued by a learner at T3\nre-queued by ops at T4"
    assert describe_requeues(None) is None


def test_each_kind_of_fault_names_who_it_struck_and_what_happened() -> None:
    assert fault_actor(CRASH) == "pipeline-driver.EU"
    assert describe_fault(CRASH) == (
        "killed (pipeline-driver.EU-1) holding 1 message(s): m1@pipeline.process.EU; "
        "the lease of 5 s let another listener take them"
    )
    assert fault_actor(OUTAGE) is None
    assert describe_fault(OUTAGE) == (
        "the store was unreachable for 3 s, from 2026-12-07T06:31:00.000 to "
        "2026-12-07T06:31:03.000; 17 calls refused"
    )
    assert fault_actor(REQUEUE) == "learner@host:1"
    assert "m2@ingest.files (ingest.files) put back" in describe_fault(REQUEUE)
    assert describe_fault(REQUEUE).endswith("died of ValueError: invalid literal for int(): '2 kB'")
    consumer = {"kind": "original-consumer", "name": "original-A", "selector": "burst.then"}
    assert fault_actor(consumer) == "original-A"
    assert describe_fault(consumer) == "consumed burst.then the original's way, without claims"


def test_an_event_of_an_odd_shape_is_shown_not_raised() -> None:
    odd_crash = {"kind": "crash", "listeners": "one", "held": None, "lease": "long"}
    assert describe_fault(odd_crash) == (
        "killed (no listener) holding 0 message(s); the lease of long s let another "
        "listener take them"
    )
    unknown = {"_id": "x", "kind": "flood", "depth": 2}
    assert describe_fault(unknown) == '{"depth": 2, "kind": "flood"}'
    assert fault_actor(unknown) is None
