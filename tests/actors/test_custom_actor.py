"""Your own actor in a running sandbox: added beside the stock ones, or put in place of one.

The actors are those of ``example_actors``, written only against the public
API (``drwlab.actors``); each test runs on both stores.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab import MessageBus, Sandbox
from drwlab.actors import AquaQA2, executive_of
from drwlab.actors.aqua_qa2 import decode_report
from drwlab.actors.xtss import Xtss
from drwlab.errors import InvalidMessage, UnknownOus
from drwlab.lifecycle import QA2Flag, State
from drwlab.store.base import Doc, Store
from drwlab.views.tables import actor_liveness
from tests.actors.example_actors import ASSIGN, ShortestQueue, fail_below

PROG = "2015.1.00657.S"
RECIPE = "PipelineCalibration"
DECISIONS = {f"QA2 {flag.value}": flag for flag in (QA2Flag.PASS, QA2Flag.FAIL)}
"""The reasons of QA2's decisions in an OUS's history."""


@pytest.fixture
def two_executives(store_url: str, tmp_path: Path) -> Iterator[Sandbox]:
    """A running sandbox with pipeline drivers at EU and NA; QA2 decides nothing."""
    sandbox = Sandbox(
        store=store_url,
        workdir=tmp_path,
        seed=1,
        failure_rate=0.0,
        executives=("EU", "NA"),
        autopilot=False,
    )
    try:
        yield sandbox
    finally:
        sandbox.stop()


def processed_on(entity: Doc) -> str:
    """The executive whose pipeline driver set the OUS to Processing (from its history)."""
    actors = [e["actor"] for e in entity["history"] if e.get("state") == State.PROCESSING.value]
    assert actors, entity["history"]
    return str(actors[-1]).rsplit(".", 1)[-1]


def test_your_actor_added_to_a_running_sandbox_spreads_ouss_over_eu_and_na(
    two_executives: Sandbox,
) -> None:
    sandbox = two_executives
    dra = sandbox.add_actor(ShortestQueue(sandbox.bus, sandbox.store, executives=["EU", "NA"]))
    assert sandbox.actors["shortest-queue"] is dra and dra.is_alive
    assert list(sandbox.actors)[-1] == "shortest-queue"  # stopped first, before the XTSS
    uids = [f"uid://X1/X1/Xd{n}" for n in range(4)]
    for uid in uids:
        sandbox.bus.send(ASSIGN, {"progID": PROG, "ousUID": uid, "recipe": RECIPE})
    entities = [sandbox.wait_for(uid, State.READY_FOR_REVIEW, timeout=90) for uid in uids]

    executives = [processed_on(entity) for entity in entities]
    assert set(executives) == {"EU", "NA"}, executives
    assert [executive_of(e) for e in entities] == executives
    assigned = [e for e in entities[0]["history"] if e["actor"] == "shortest-queue"]
    assert assigned and assigned[0]["reason"].startswith("assigned by request ")
    liveness = actor_liveness(sandbox.store)  # the dashboard's table
    assert any(name.startswith("shortest-queue-") for name in liveness["actor"]), liveness


def test_a_stock_actor_stopped_by_name_is_gone_and_refusals_say_why(
    two_executives: Sandbox,
) -> None:
    sandbox = two_executives
    driver = sandbox.stop_actor("pipeline-driver.NA")
    assert not driver.is_alive and "pipeline-driver.NA" not in sandbox.actors
    with pytest.raises(KeyError, match=r"pipeline-driver\.NA.*it runs: xtss"):
        sandbox.stop_actor("pipeline-driver.NA")
    with pytest.raises(ValueError, match="runs already: use replace_actor"):
        sandbox.add_actor(ShortestQueue(sandbox.bus, sandbox.store, name="pipeline-driver.EU"))
    with (
        MessageBus(sandbox.store) as other_bus,
        pytest.raises(ValueError, match="built on another bus"),
    ):
        sandbox.add_actor(ShortestQueue(other_bus, sandbox.store))
    added = sandbox.add_actor(ShortestQueue(sandbox.bus, sandbox.store), name="dra")
    with pytest.raises(ValueError, match="started already"):
        sandbox.replace_actor("dra", added)
    sandbox.stop()
    assert not added.is_alive and sandbox.actors == {}
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.add_actor(ShortestQueue(added.bus, sandbox.store))


def decision_of(entity: Doc) -> QA2Flag | None:
    """The QA2 decision in the OUS's history, if any."""
    reasons = [entry.get("reason") for entry in entity["history"]]
    return next((DECISIONS[r] for r in reasons if r in DECISIONS), None)


def wait_for_decision(sandbox: Sandbox, uid: str, timeout: float = 90.0) -> Doc:
    """The OUS's entity once QA2 decided on it (its history names the decision)."""
    deadline = time.monotonic() + timeout
    while True:
        seq = sandbox.store.current_seq("status-entities")
        try:
            entity = sandbox.entity(uid)
        except UnknownOus:  # not launched yet
            entity = {"history": []}
        if decision_of(entity) is not None:
            return entity
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no QA2 decision on {uid} within {timeout} s: {entity}"
        sandbox.store.wait_for_change("status-entities", seq, min(remaining, 1.0))


def test_the_qa2_autopilot_replaced_by_your_rule_fails_runs_with_a_low_stage(
    store_url: str, tmp_path: Path
) -> None:
    with Sandbox(
        store=store_url, workdir=tmp_path, seed=5, failure_rate=0.0, autopilot="Pass"
    ) as sandbox:
        stock = sandbox.qa2
        strict = AquaQA2(
            sandbox.bus,
            sandbox.store,
            cache_dir=sandbox.caches["JAO"],
            cache_url=sandbox.urls["cache.JAO"],
            autopilot=fail_below(0.66),
        )
        assert sandbox.replace_actor("aqua-qa2", strict) is stock
        assert not stock.is_alive and sandbox.qa2 is strict and strict.is_alive
        uids = [f"uid://X1/X1/Xe{n}" for n in range(5)]
        for uid in uids:
            sandbox.launch(PROG, uid)
        decisions = {}
        for uid in uids:
            entity = wait_for_decision(sandbox, uid)
            stored = strict.run_report(entity)
            assert stored is not None
            lowest = decode_report(stored["report"])[1].overall
            decisions[uid] = decision_of(entity)
            expected = QA2Flag.FAIL if lowest < 0.66 else QA2Flag.PASS
            assert decisions[uid] is expected, (uid, lowest)
            if expected is QA2Flag.FAIL:  # back for processing
                assert sandbox.entity(uid)["state"] == State.READY_FOR_PROCESSING.value
        assert set(decisions.values()) == {QA2Flag.PASS, QA2Flag.FAIL}, decisions


def assignment(uid: str, attempts: int, message_id: str = "m-1", **extra: object) -> Doc:
    """A ``dra.assign`` message as the bus hands it to a full-message handler."""
    body = {"progID": PROG, "ousUID": uid, "recipe": RECIPE, **extra}
    return {"_id": message_id, "body": body, "attempts": attempts}


def test_your_actor_keeps_the_rules_a_redelivery_is_a_duplicate_and_unknown_fields_refused(
    bus: MessageBus, store: Store, xtss: Xtss, caplog: pytest.LogCaptureFixture
) -> None:
    dra = ShortestQueue(bus, store, executives=["EU", "NA"])
    dra.handle(assignment("uid://X1/X1/Xg1", attempts=1))
    with caplog.at_level(logging.INFO, logger="tests.actors.example_actors"):
        dra.handle(assignment("uid://X1/X1/Xg1", attempts=2))  # its lease ran out: again
    assert [m["body"]["ousUID"] for m in bus.unread("pipeline.process.EU")] == ["uid://X1/X1/Xg1"]
    assert "duplicate" in caplog.text

    # a first attempt that created the OUS on NA, then died before sending its request
    xtss.create("uid://X1/X1/Xg2", PROG, RECIPE, "NA", reason="assigned by request m-2")
    dra.handle(assignment("uid://X1/X1/Xg2", attempts=2, message_id="m-2"))
    assert [m["body"]["ousUID"] for m in bus.unread("pipeline.process.NA")] == ["uid://X1/X1/Xg2"]

    with pytest.raises(InvalidMessage, match="unknown field 'priority'"):
        dra.handle(assignment("uid://X1/X1/Xg3", attempts=1, priority="high"))
