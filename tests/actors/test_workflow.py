"""All actors together, wired by hand: one OUS from launch to Delivered, the seed's counts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors import (
    Actor,
    AquaQA2,
    DataTracker,
    Launcher,
    PipelineDriver,
    ProductIngestor,
    ReplicatedCache,
    Xtss,
)
from drwlab.bus import MessageBus
from drwlab.lifecycle import State
from drwlab.store import Store
from tests.actors.conftest import PROG, UID, wait_for_state, wait_until


@pytest.fixture
def actors(bus: MessageBus, store: Store, tmp_path: Path) -> Iterator[list[Actor]]:
    eu, jao = tmp_path / "eu-cache", tmp_path / "jao-cache"
    rsync = shutil.which("rsync")
    started: list[Actor] = []
    wired: tuple[Actor, ...] = (
        Xtss(bus, store),
        PipelineDriver(
            bus, store, executive="EU", cache_dir=eu, work_dir=tmp_path / "work",
            time_scale=0, seed=3, failure_rate=0,
        ),
        ReplicatedCache(bus, store, executive="EU", cache_dir=eu, rsync=rsync),
        ReplicatedCache(
            bus, store, executive="JAO", cache_dir=jao, remotes={"EU": str(eu)}, rsync=rsync
        ),
        AquaQA2(bus, store, cache_dir=jao, autopilot="Pass"),
        ProductIngestor(bus, store, cache_dir=jao, time_scale=0),
        DataTracker(bus, store, time_scale=0),
    )  # fmt: skip
    for actor in wired:
        started.append(actor.start())
    yield started
    for actor in reversed(started):
        actor.stop()


def test_one_ous_goes_from_launch_to_delivered_with_the_seeds_counts(
    actors: list[Actor], bus: MessageBus, store: Store
) -> None:
    Launcher(bus, store).launch(PROG, UID)
    doc = wait_for_state(store, UID, State.DELIVERED, timeout=60)
    assert [h["state"] for h in doc["history"] if h["operation"] in ("create", "set-state")] == [
        "ReadyForProcessing",
        "Processing",
        "ReadyForReview",
        "Reviewing",
        "Verified",
        "DeliveryInProgress",
        "Delivered",
    ]
    assert len(store.all_docs("pipeline-reports")) == 1
    assert len(store.all_docs("delivery-status")) == 1
    assert len(store.all_docs("ngas")) == 6
    assert len(store.all_docs("products-metadata")) == 5
    wait_until(lambda: bus.unread() == [], what="zero unread messages")
    assert bus.dead_letters() == []
