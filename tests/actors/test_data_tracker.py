"""The data tracker: Delivered once every ingested product is in NGAS, woken by changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from drwlab.actors.data_tracker import DataTracker
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.lifecycle import State, Substate
from drwlab.ngas import Ngas
from drwlab.store import Store
from tests.actors.conftest import UID, bring_to, entity, wait_for_state

PRODUCTS = [f"product-{n}-X1-X1-Xb2-2018_07_19T07_10_03.781.data" for n in range(5)]


def ingested(xtss: Xtss, store: Store, *, archived: list[str]) -> None:
    """An OUS whose ingestion finished: substate, delivery status; ``archived`` in NGAS."""
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    for name in archived:
        Ngas(store).put(name, name.encode(), ous_uid=UID)
    status = {
        "_id": "uid___X1_X1_Xb2",  # one per OUS, where the original's data tracker reads it
        "ousUID": UID,
        "progID": "2015.1.00657.S",
        "timestamp": "2018-07-19T07:10:03.781",
        "productsDir": "2015.1.00657.S_2018_07_19T07_10_03.781",
        "dataProducts": PRODUCTS,
        "complete": True,
    }
    store.put("delivery-status", status)
    xtss.set_substate(UID, Substate.PRODUCTS_INGESTED, actor="test")


@pytest.fixture
def tracker(bus: MessageBus, store: Store, xtss: Xtss) -> Iterator[DataTracker]:
    actor = DataTracker(bus, store, time_scale=0).start()
    yield actor
    actor.stop()


def test_an_ingested_ous_is_delivered_and_its_substate_and_executive_cleared(
    tracker: DataTracker, xtss: Xtss, store: Store
) -> None:
    ingested(xtss, store, archived=PRODUCTS)
    doc = wait_for_state(store, UID, State.DELIVERED)
    assert doc["substate"] is None
    assert "PL_PROCESSING_EXECUTIVE" not in doc["flags"]
    assert doc["history"][-1]["actor"] == "data-tracker"


def test_an_ous_is_not_delivered_while_a_product_is_missing_from_ngas(
    bus: MessageBus, xtss: Xtss, store: Store
) -> None:
    ingested(xtss, store, archived=PRODUCTS[:-1])
    checker = DataTracker(bus, store, time_scale=0)  # not started: one check at a time
    assert checker.handle(entity(store)) is False
    assert entity(store)["state"] == "DeliveryInProgress"
    Ngas(store).put(PRODUCTS[-1], b"late")
    assert checker.handle(entity(store)) is True
    assert entity(store)["state"] == "Delivered"


def test_an_ous_without_a_complete_delivery_status_waits(
    bus: MessageBus, xtss: Xtss, store: Store
) -> None:
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    xtss.set_substate(UID, Substate.PRODUCTS_INGESTED)
    assert DataTracker(bus, store, time_scale=0).handle(entity(store)) is False


def test_the_tracker_stops_at_once(bus: MessageBus, store: Store, xtss: Xtss) -> None:
    tracker = DataTracker(bus, store, time_scale=0).start()
    assert tracker.is_alive
    tracker.stop(timeout=2.0)
    assert not tracker.is_alive
    assert not [t for t in threading.enumerate() if t.name == "drwlab-actor-data-tracker"]
