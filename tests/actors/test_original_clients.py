"""A mixed deployment: the original's own scripts beside drwlab's actors on one store.

The client in ``original.py`` does on the wire exactly what the original's scripts
do (HTTP against the CouchDB-compatible server; the same ids, whole documents and
revisions through the Store on SQLite, which has no HTTP). Each test is one thing
someone running both systems side by side would do.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from drwlab import Sandbox
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.xtss import Xtss, XtssClient
from drwlab.bus import MessageBus
from drwlab.errors import IllegalTransition, InvalidMessage
from drwlab.lifecycle import State
from drwlab.store import DATABASES, Store
from tests.actors.conftest import PROG, UID, bring_to, entity, wait_for_state, wait_until
from tests.actors.original import (
    HttpDatabase,
    OriginalQueue,
    OriginalXtssClient,
    StoreDatabase,
    encode,
)


@pytest.fixture
def original(store_url: str, store: Store) -> OriginalQueue:
    """The original's message queue on the same store as drwlab's actors."""
    if store_url.startswith("sqlite:"):
        return OriginalQueue(StoreDatabase(store))
    return OriginalQueue(HttpDatabase(store_url))


@pytest.fixture
def original_xtss(original: OriginalQueue, xtss: Xtss) -> OriginalXtssClient:
    """The original's XTSS client, talking to drwlab's XTSS."""
    return OriginalXtssClient(original)


def collect(bus: MessageBus, selector: str) -> tuple[list[Any], threading.Event]:
    """Start a drwlab listener on ``selector``; the bodies it handles, and an Event per body."""
    bodies: list[Any] = []
    arrived = threading.Event()

    def handler(body: Any) -> None:
        bodies.append(body)
        arrived.set()

    bus.listen(selector, handler)
    return bodies, arrived


def test_the_xtss_answers_the_original_clients_as_the_original_did(
    original_xtss: OriginalXtssClient, xtss: Xtss, bus: MessageBus, store: Store
) -> None:
    bring_to(xtss, State.READY_FOR_REVIEW)
    bring_to(xtss, State.READY_FOR_REVIEW, uid="uid://X1/X1/Xa0")
    for state in ("Reviewing", "Verified", "DeliveryInProgress"):
        assert original_xtss.set_field("set-state", UID, state) == 201
    assert original_xtss.set_field("set-substate", UID, "IngestionTriggered") == 201
    assert original_xtss.set_field("set-exec", UID, "EU") == 201
    assert original_xtss.set_field("clear-exec", UID, None) == 201  # its helper sends value
    assert "PL_PROCESSING_EXECUTIVE" not in entity(store)["flags"]
    found = original_xtss.call(
        {
            "operation": "get-ouss-by-state-substate",
            "state": "DeliveryInProgress",
            "substate": "^Ingest",
        }
    )
    assert [ous["entityId"] for ous in found] == [UID]
    found = original_xtss.call(
        {"operation": "get-ouss-by-state-substate", "state": "ReadyForReview", "substate": ".*"}
    )
    assert found == []  # the others have no substate: a regex matches strings only
    answer = original_xtss.call({"operation": "set-recipe", "ousUID": UID, "value": "X"})
    assert answer == "Unsupported operation: set-recipe"
    # the original marked every reply consumed with its whole-document save, first time
    assert [reply["_saved"] for reply in original_xtss.replies] == [201] * 9
    assert all(
        store.get("msgq", reply["_id"])["consumed"] is True for reply in original_xtss.replies
    )
    # drwlab's own client still raises a clear error on a refusal
    with pytest.raises(IllegalTransition, match="DeliveryInProgress -> Processing"):
        XtssClient(bus, sender="test").set_state(UID, State.PROCESSING)
    refusal = original_xtss.set_field("set-state", UID, "Processing")
    assert refusal.startswith("IllegalTransition: ") and "DeliveryInProgress" in refusal


def test_set_state_leaves_the_substate_and_set_substate_empty_clears_it(
    original_xtss: OriginalXtssClient, xtss: Xtss, store: Store
) -> None:
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    assert original_xtss.set_field("set-substate", UID, "ProductsIngested") == 201
    assert original_xtss.set_field("set-state", UID, "Delivered") == 201
    assert entity(store)["substate"] == "ProductsIngested"  # as the original: state only
    assert original_xtss.set_field("set-substate", UID, "") == 201
    assert entity(store)["substate"] is None
    with pytest.raises(InvalidMessage, match="unknown field"):  # truly unknown fields still refused
        xtss.handle({"operation": "clear-exec", "ousUID": UID, "value": None, "valeu": 1})


def test_an_ous_launched_by_the_original_launcher_is_processed(
    original: OriginalQueue,
    original_xtss: OriginalXtssClient,
    bus: MessageBus,
    store: Store,
    tmp_path: Path,
) -> None:
    # launcher.py: a bare entity, then state and substate (the recipe) by whole-document saves
    assert original.db.save("status-entities", UID, {"entityId": UID}) == 201
    _, ous = original.db.find_one("status-entities", UID)
    ous.update(state="ReadyForProcessing", substate="PipelineCalibration", timestamp="x")
    assert original.db.save("status-entities", UID, ous) == 201
    request = f'{{"progID":"{PROG}", "ousUID":"{UID}", "recipe":"PipelineCalibration"}}'
    original.send(request, "pipeline.process.EU")  # a JSON string, as its helper sends it
    driver = PipelineDriver(
        bus,
        store,
        executive="EU",
        cache_dir=tmp_path / "c",
        work_dir=tmp_path / "w",
        time_scale=0,
        failure_rate=0,
        seed=1,
    ).start()
    try:
        wait_for_state(store, UID, State.READY_FOR_REVIEW, timeout=60)
    finally:
        driver.stop()
    # the substate another tool wrote survived our state changes: its documented query works
    found = original_xtss.call(
        {
            "operation": "get-ouss-by-state-substate",
            "state": "ReadyForReview",
            "substate": "^Pipeline",
        }
    )
    assert [ous["entityId"] for ous in found] == [UID]


def test_an_original_consumer_takes_a_drwlab_message_once_and_no_drwlab_listener_gets_it(
    original: OriginalQueue, bus: MessageBus, store: Store
) -> None:
    taken_id = bus.send("wire.work", {"n": 1})
    taken = original.get_next("wire.work")
    assert taken is not None and taken["_id"] == taken_id and taken["body"] == {"n": 1}
    assert taken["_saved"] == 201  # its save reaches our id: the message is marked consumed
    assert original.get_next("wire.work", timeout=0.3) is None  # once
    bodies, arrived = collect(bus, "wire.work")
    bus.send("wire.work", {"n": 2})
    assert arrived.wait(15)
    wait_until(lambda: not bus.unread("wire.work"))
    assert bodies == [{"n": 2}]
    assert store.get("msgq", taken_id)["consumed"] is True


def test_messages_the_original_sends_reach_drwlab_listeners(
    original: OriginalQueue, bus: MessageBus, store: Store
) -> None:
    bodies, arrived = collect(bus, "wire.work")
    [sent] = original.send({"n": 1}, "wire.work")
    assert arrived.wait(15)
    assert bodies == [{"n": 1}]
    wait_until(lambda: store.get("msgq", sent["_id"]).get("state") == "done")


def test_a_group_is_one_document_under_its_own_name_for_both(
    original: OriginalQueue, bus: MessageBus, store: Store
) -> None:
    bus.join_group("wire.all.*", "wire.a")
    original.join_group("wire.all.*", "wire.b")  # the original finds ours and adds itself
    assert bus.members("wire.all.*") == ["wire.a", "wire.b"]
    got_a, _ = collect(bus, "wire.a")
    got_b, _ = collect(bus, "wire.b")
    original.send({"hello": "group"}, "wire.all.*")
    bus.send("wire.all.*", {"hello": "again"})
    wait_until(lambda: len(got_a) == 2 and len(got_b) == 2)
    # each member got both (in an order each listener sees for itself: two sends, two queues)
    for got in (got_a, got_b):
        assert {"hello": "group"} in got and {"hello": "again"} in got


def test_the_original_data_tracker_reads_what_drwlab_delivered(
    store_url: str, original: OriginalQueue, tmp_path: Path
) -> None:
    with Sandbox(
        store=store_url, workdir=tmp_path, time_scale=0, seed=1, failure_rate=0, autopilot="Pass"
    ) as sandbox:
        sandbox.launch(PROG, UID)
        sandbox.wait_for(UID, State.DELIVERED, timeout=120)
        store = sandbox.store
        # data-tracker.py: the delivery status under the encoded uid, each product in NGAS
        status, delivery = original.db.find_one("delivery-status", UID)
        assert status == 200 and delivery["complete"] is True
        assert len(delivery["dataProducts"]) > 0
        for product in delivery["dataProducts"]:
            assert original.db.find_one("ngas", product)[0] == 200
            status, metadata = original.db.find_one("products-metadata", product)
            assert status == 200 and metadata["ousUID"] == UID and metadata["progID"] == PROG
        status, ous = original.db.find_one("status-entities", UID)
        assert status == 200 and ous["state"] == "Delivered" and ous["substate"] is None
        # every document drwlab wrote is one the original's save()/findOne() reach unchanged
        for db in DATABASES:
            for doc in store.all_docs(db):
                assert encode(doc["_id"]) == doc["_id"], f"{db}/{doc['_id']}"
