"""The XTSS: operations over RPC, the state history, the life-cycle rules, error replies."""

from __future__ import annotations

import threading

import pytest

from drwlab.actors.xtss import Xtss, XtssClient
from drwlab.bus import MessageBus
from drwlab.errors import IllegalTransition, InvalidMessage, InvalidUid, UnknownOus
from drwlab.lifecycle import State, Substate
from drwlab.store import Store
from tests.actors.conftest import PROG, UID, bring_to, entity


@pytest.fixture
def client(bus: MessageBus, xtss: Xtss) -> XtssClient:
    return XtssClient(bus, sender="tester", timeout=10)


def test_create_makes_an_entity_ready_for_processing(client: XtssClient, store: Store) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    doc = entity(store)
    assert doc["entityId"] == UID
    assert doc["progID"] == PROG
    assert doc["state"] == "ReadyForProcessing"
    assert doc["substate"] is None
    assert doc["pipeline-recipe"] == "PipelineCalibration"
    assert doc["flags"] == {"PL_PROCESSING_EXECUTIVE": "EU"}
    assert doc["history"][0]["actor"] == "tester"


def test_set_state_follows_the_life_cycle_and_keeps_history(
    client: XtssClient, store: Store
) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    client.set_state(UID, State.PROCESSING)
    reply = client.set_state(UID, "ReadyForReview", reason="done")
    assert reply["state"] == "ReadyForReview"
    history = entity(store)["history"]
    assert [h["state"] for h in history] == ["ReadyForProcessing", "Processing", "ReadyForReview"]
    assert all(h["actor"] == "tester" and h["timestamp"] for h in history)
    assert history[-1]["reason"] == "done"
    assert entity(store)["timestamp"] == history[-1]["timestamp"]


def test_an_illegal_transition_is_refused_naming_the_ous_state_and_options(
    client: XtssClient, store: Store
) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    with pytest.raises(IllegalTransition) as refused:
        client.set_state(UID, State.DELIVERED)
    message = str(refused.value)
    assert UID in message and "ReadyForProcessing" in message and "Processing" in message
    assert entity(store)["state"] == "ReadyForProcessing"


def test_without_strict_checks_any_known_state_is_accepted(bus: MessageBus, store: Store) -> None:
    lax = Xtss(bus, store, strict=False)
    lax.create(UID, PROG, "PipelineCalibration", "EU")
    assert lax.set_state(UID, "Delivered")["state"] == "Delivered"
    with pytest.raises(IllegalTransition, match="unknown state"):
        lax.set_state(UID, "Nowhere")


def test_a_processing_problem_keeps_its_reason_until_relaunch(
    client: XtssClient, store: Store
) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    client.set_state(UID, State.PROCESSING)
    client.set_state(UID, State.PROCESSING_PROBLEM, reason="pipeline crashed")
    assert entity(store)["problem"] == "pipeline crashed"
    client.create(UID, PROG, "PipelineCalibration", "NA")
    doc = entity(store)
    assert doc["state"] == "ReadyForProcessing" and "problem" not in doc
    assert doc["flags"]["PL_PROCESSING_EXECUTIVE"] == "NA"
    assert doc["history"][-1]["reason"] == "relaunch"


def test_creating_an_ous_under_review_or_delivered_is_refused(
    xtss: Xtss, client: XtssClient
) -> None:
    bring_to(xtss, State.REVIEWING)
    with pytest.raises(IllegalTransition, match="Reviewing"):
        client.create(UID, PROG, "PipelineCalibration", "EU")
    bring_to(xtss, State.DELIVERY_IN_PROGRESS, uid="uid://X1/X1/Xc1")
    xtss.set_state("uid://X1/X1/Xc1", State.DELIVERED)
    with pytest.raises(IllegalTransition, match="Delivered"):
        client.create("uid://X1/X1/Xc1", PROG, "PipelineCalibration", "EU")


def test_substates_move_forward_only_in_delivery(xtss: Xtss, client: XtssClient) -> None:
    bring_to(xtss, State.VERIFIED)
    with pytest.raises(IllegalTransition, match="DeliveryInProgress"):
        client.set_substate(UID, Substate.INGESTION_TRIGGERED)
    client.set_state(UID, State.DELIVERY_IN_PROGRESS)
    client.set_substate(UID, Substate.INGESTION_TRIGGERED)
    assert client.set_substate(UID, "IngestingProducts")["substate"] == "IngestingProducts"
    with pytest.raises(IllegalTransition, match="back"):
        client.set_substate(UID, Substate.ANALYZING_PRODUCTS)
    assert client.set_substate(UID, None)["substate"] is None


def test_executive_and_flags_are_set_and_cleared(client: XtssClient, store: Store) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    client.set_exec(UID, "JAO")
    client.set_flag(UID, "QA2_FLAG", "Pass")
    assert entity(store)["flags"] == {"PL_PROCESSING_EXECUTIVE": "JAO", "QA2_FLAG": "Pass"}
    client.clear_exec(UID)
    client.set_flag(UID, "QA2_FLAG", None)
    assert entity(store)["flags"] == {}
    with pytest.raises(InvalidMessage, match="executive"):
        client.set_exec(UID, "XX")


def test_ouss_are_found_by_state_and_substate(xtss: Xtss, client: XtssClient) -> None:
    for uid in ("uid://X1/X1/Xb3", "uid://X1/X1/Xb1"):
        bring_to(xtss, State.DELIVERY_IN_PROGRESS, uid=uid)
    bring_to(xtss, State.PROCESSING, uid="uid://X1/X1/Xb9")
    client.set_substate("uid://X1/X1/Xb3", Substate.INGESTION_TRIGGERED)
    found = client.get_ouss_by_state_substate(State.DELIVERY_IN_PROGRESS)
    assert [d["entityId"] for d in found] == ["uid://X1/X1/Xb1", "uid://X1/X1/Xb3"]
    found = client.get_ouss_by_state_substate("DeliveryInProgress", "^Ingestion")
    assert [d["entityId"] for d in found] == ["uid://X1/X1/Xb3"]


def test_bad_requests_get_error_replies_and_the_xtss_keeps_serving(
    bus: MessageBus, client: XtssClient, xtss: Xtss
) -> None:
    with pytest.raises(InvalidMessage, match="unsupported operation 'fly'"):
        bus.call("xtss", {"operation": "fly", "ousUID": UID})
    with pytest.raises(InvalidMessage, match="operation"):
        bus.call("xtss", {"ousUID": UID})
    with pytest.raises(InvalidMessage, match="JSON object"):
        bus.call("xtss", ["set-state"])
    with pytest.raises(InvalidMessage, match="value"):
        bus.call("xtss", {"operation": "set-state", "ousUID": UID})
    with pytest.raises(InvalidUid):
        client.set_state("uid:/broken", State.PROCESSING)
    with pytest.raises(UnknownOus, match="Xb7"):
        client.set_state("uid://X1/X1/Xb7", State.PROCESSING)
    assert xtss.is_alive
    assert client.create(UID, PROG, "PipelineCalibration", "EU")["state"] == "ReadyForProcessing"


def test_concurrent_changes_to_one_entity_are_all_kept(xtss: Xtss, store: Store) -> None:
    bring_to(xtss, State.READY_FOR_PROCESSING)
    barrier = threading.Barrier(4)

    def flag(n: int) -> None:
        barrier.wait()
        for k in range(5):
            xtss.set_flag(UID, f"F{n}_{k}", k, actor=f"worker{n}")

    workers = [threading.Thread(target=flag, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    doc = entity(store)
    assert len(doc["flags"]) == 1 + 20
    assert len(doc["history"]) == 1 + 20


def test_a_change_after_its_own_write_reads_nothing(
    client: XtssClient, xtss: Xtss, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    reads: list[str] = []
    get = store.get
    monkeypatch.setattr(store, "get", lambda db, doc_id: reads.append(db) or get(db, doc_id))
    client.set_state(UID, State.PROCESSING)
    client.set_substate(UID, "")
    assert "status-entities" not in reads  # it started from the entity it wrote last
    assert entity(store)["state"] == "Processing"


def test_a_change_made_behind_its_back_is_seen_before_the_xtss_decides(
    client: XtssClient, store: Store
) -> None:
    client.create(UID, PROG, "PipelineCalibration", "EU")
    client.set_state(UID, State.PROCESSING)
    moved = dict(entity(store), state="ReadyForReview")  # another tool, straight to the store
    store.put("status-entities", moved)
    # from its own last copy (Processing) Reviewing is illegal; from the store's, it is legal
    client.set_state(UID, State.REVIEWING)
    assert entity(store)["state"] == "Reviewing"
    moved = dict(entity(store), state="ReadyForProcessing")
    store.put("status-entities", moved)
    # from its own last copy (Reviewing) Verified is legal; from the store's, it is not
    with pytest.raises(IllegalTransition):
        client.set_state(UID, State.VERIFIED)
    assert entity(store)["state"] == "ReadyForProcessing"
