"""The product ingestor: substates, NGAS, metadata, delivery status, idempotence, waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.product_ingestor import ProductIngestor
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.lifecycle import State
from drwlab.ngas import Ngas
from drwlab.products import ProductsTree, products_dir_name
from drwlab.store import Store
from tests.actors.conftest import (
    PROG,
    UID,
    bring_to,
    entity,
    make_products,
    wait_dead,
    wait_done,
    wait_until,
)

TIMESTAMP = "2018-07-23T13:32:25.355"
REQUEST = {
    "ousUID": UID,
    "timestamp": TIMESTAMP,
    "productsDir": products_dir_name(PROG, TIMESTAMP),
}


@pytest.fixture
def ingestor(
    bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path
) -> Iterator[ProductIngestor]:
    actor = ProductIngestor(
        bus, store, cache_dir=tmp_path / "jao", time_scale=0, wait_timeout=5.0
    ).start()
    yield actor
    actor.stop()


def jao_products(tmp_path: Path) -> ProductsTree:
    return make_products(tmp_path / "jao", timestamp=TIMESTAMP)


def counts(store: Store) -> tuple[int, int, int]:
    return (
        len(store.all_docs("ngas")),
        len(store.all_docs("products-metadata")),
        len(store.all_docs("delivery-status")),
    )


def test_ingestion_walks_the_substates_and_archives_every_product(
    ingestor: ProductIngestor, xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    tree = jao_products(tmp_path)
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    wait_done(store, bus.send("ingest.JAO", REQUEST))
    doc = entity(store)
    assert doc["substate"] == "ProductsIngested"
    assert [h["substate"] for h in doc["history"] if h["operation"] == "set-substate"] == [
        "IngestionTriggered",
        "AnalyzingProducts",
        "IngestingProducts",
        "ProductsIngested",
    ]
    names = [p.name for p in tree.data_product_paths]
    assert Ngas(store).file_ids() == sorted(names)
    assert Ngas(store).get(names[0]) == tree.data_product_paths[0].read_bytes()
    metadata = store.all_docs("products-metadata")
    assert [m["productID"] for m in metadata] == sorted(names)
    assert {(m["ousUID"], m["progID"]) for m in metadata} == {(UID, PROG)}
    [status] = store.all_docs("delivery-status")
    assert status["_id"] == "uid___X1_X1_Xb2"  # one per OUS, as the original keeps it
    assert status["dataProducts"] == names and status["complete"] is True
    assert status["productsDir"] == REQUEST["productsDir"] and status["progID"] == PROG


def test_a_delivery_status_written_by_another_tool_meanwhile_keeps_both_writes(
    ingestor: ProductIngestor,
    xtss: Xtss,
    bus: MessageBus,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = jao_products(tmp_path)
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    put_file = ingestor.ngas.put_file

    def put_file_while_another_tool_writes(path: Path, **options: object) -> object:
        if path == tree.data_product_paths[1]:  # the ingestor's copy is now out of date
            [status] = store.all_docs("delivery-status")
            store.put("delivery-status", dict(status, note="seen by the data tracker"))
        return put_file(path, **options)

    monkeypatch.setattr(ingestor.ngas, "put_file", put_file_while_another_tool_writes)
    wait_done(store, bus.send("ingest.JAO", REQUEST))
    [status] = store.all_docs("delivery-status")
    assert status["dataProducts"] == [p.name for p in tree.data_product_paths]
    assert status["complete"] is True and status["note"] == "seen by the data tracker"


def test_a_redelivered_request_creates_no_duplicates(
    ingestor: ProductIngestor,
    xtss: Xtss,
    bus: MessageBus,
    store: Store,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    jao_products(tmp_path)
    bring_to(xtss, State.DELIVERY_IN_PROGRESS, run=TIMESTAMP)
    wait_done(store, bus.send("ingest.JAO", REQUEST))
    history = len(entity(store)["history"])
    caplog.set_level("INFO", logger="drwlab.actors.product_ingestor")
    wait_done(store, bus.send("ingest.JAO", REQUEST))
    assert counts(store) == (5, 5, 1)
    assert len(entity(store)["history"]) == history
    assert "ingested already; duplicate request" in caplog.text
    assert bus.dead_letters() == []


def test_a_request_for_another_run_than_the_ouss_is_refused(
    ingestor: ProductIngestor, xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    jao_products(tmp_path)
    bring_to(xtss, State.DELIVERY_IN_PROGRESS, run="2018-07-24T00:00:00.000")
    dead = wait_dead(bus, bus.send("ingest.JAO", REQUEST))
    assert f"from run {TIMESTAMP}" in dead["error"] and "in run 2018-07-24" in dead["error"]
    assert counts(store) == (0, 0, 0)


def test_ingestion_waits_for_delivery_in_progress_and_for_replication(
    ingestor: ProductIngestor, xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    bring_to(xtss, State.VERIFIED)  # AQUA asks for ingestion before DeliveryInProgress
    message = bus.send("ingest.JAO", REQUEST)
    wait_until(lambda: store.get("msgq", message)["state"] == "claimed")
    xtss.set_state(UID, State.DELIVERY_IN_PROGRESS)
    wait_until(lambda: entity(store)["substate"] == "IngestionTriggered")
    jao_products(tmp_path)  # the products arrive from the EU cache
    wait_done(store, message)
    assert entity(store)["substate"] == "ProductsIngested"
    assert counts(store) == (5, 5, 1)


def test_products_never_replicated_leave_a_clear_error_after_retries(
    bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path
) -> None:
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    impatient = ProductIngestor(bus, store, cache_dir=tmp_path, time_scale=0, wait_timeout=0.2)
    with impatient:
        dead = wait_dead(bus, bus.send("ingest.JAO", REQUEST))
    assert dead["attempts"] == 3
    assert "CacheError" in dead["error"] and "not (fully) replicated" in dead["error"]


@pytest.mark.parametrize(
    "body",
    [
        {**REQUEST, "ousUID": "uid:/X1"},
        {**REQUEST, "productsDir": "2015.1.00657.S_2020_01_01T00_00_00.000"},
        {**REQUEST, "productsDir": "../../_2018_07_23T13_32_25.355"},
        {"ousUID": UID, "timestamp": TIMESTAMP},
        {**REQUEST, "ousUID": "uid://X1/X1/Xee"},
        [],
    ],
    ids=["uid", "other-run", "path", "no-products-dir", "unknown-ous", "not-object"],
)
def test_malformed_requests_are_dead_lettered_and_the_ingestor_carries_on(
    ingestor: ProductIngestor,
    xtss: Xtss,
    bus: MessageBus,
    store: Store,
    tmp_path: Path,
    body: object,
) -> None:
    dead = wait_dead(bus, bus.send("ingest.JAO", body))
    assert dead["error"].startswith(("InvalidMessage", "InvalidUid"))
    jao_products(tmp_path)
    bring_to(xtss, State.DELIVERY_IN_PROGRESS)
    wait_done(store, bus.send("ingest.JAO", REQUEST))
    assert ingestor.is_alive and counts(store) == (5, 5, 1)


def test_an_ous_whose_products_are_still_on_their_way_does_not_hold_up_another(
    xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    """The ingestor works on several OUSs at once: the first waits for its products to be
    replicated while the second, whose products are there, is ingested meanwhile."""
    waiting, ready = "uid://X1/X1/Xc1", "uid://X1/X1/Xc2"
    for uid in (waiting, ready):
        bring_to(xtss, State.DELIVERY_IN_PROGRESS, uid=uid)
    make_products(tmp_path / "jao", uid=ready, timestamp=TIMESTAMP)
    jao = tmp_path / "jao"
    with ProductIngestor(bus, store, cache_dir=jao, time_scale=0, wait_timeout=60.0).start():
        first = bus.send("ingest.JAO", dict(REQUEST, ousUID=waiting))
        second = bus.send("ingest.JAO", dict(REQUEST, ousUID=ready))
        wait_done(store, second, timeout=30.0)  # while the first waits (up to 60 s)
        assert entity(store, ready)["substate"] == "ProductsIngested"
        assert store.get("msgq", first)["state"] == "claimed"  # waiting for its products
        assert entity(store, waiting)["substate"] == "IngestionTriggered"
        make_products(jao, uid=waiting, timestamp=TIMESTAMP)
        wait_done(store, first, timeout=30.0)
        assert entity(store, waiting)["substate"] == "ProductsIngested"
