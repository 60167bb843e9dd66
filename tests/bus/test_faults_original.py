"""Competing consumers, then and now: the original's way handles messages twice, claims never."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from drwlab.bus import MessageBus
from drwlab.faults import OriginalWayListener, fault_events, handled_twice
from tests.bus.conftest import wait_until

BURST = 60


def recorder(seen: list[int]) -> Callable[[dict[str, int]], None]:
    lock = threading.Lock()

    def handler(body: dict[str, int]) -> None:
        with lock:
            seen.append(body["n"])

    return handler


def test_the_original_way_handles_a_burst_twice_and_claims_do_not(bus: MessageBus) -> None:
    then: list[int] = []
    consumers = [
        OriginalWayListener(bus, "burst.then", recorder(then), unsafe=True, name=f"consumer-{i}")
        for i in (1, 2)
    ]
    for consumer in consumers:
        consumer.start()
    try:
        for n in range(BURST):
            bus.send("burst.then", {"n": n})
        wait_until(lambda: set(then) == set(range(BURST)) and not bus.unread("burst.then"))
    finally:
        for consumer in consumers:
            consumer.stop()

    now: list[int] = []
    for _ in (1, 2):
        bus.listen("burst.now", recorder(now))
    for n in range(BURST):
        bus.send("burst.now", {"n": n})
    wait_until(lambda: len(now) >= BURST and not bus.unread("burst.now"))

    assert handled_twice(then), "the original's way should have handled some messages twice"
    assert handled_twice(consumers[0].handled, consumers[1].handled).keys() <= set(
        m["_id"] for m in bus.store.find("msgq", {"selector": "burst.then"})
    )
    assert handled_twice(now) == {}
    assert sorted(now) == list(range(BURST))
    kinds = [(e["kind"], e["name"]) for e in fault_events(bus.store)]
    assert kinds == [("original-consumer", "consumer-1"), ("original-consumer", "consumer-2")]


def test_the_original_way_is_never_on_by_accident(bus: MessageBus) -> None:
    with pytest.raises(ValueError, match="pass unsafe=True"):
        OriginalWayListener(bus, "burst", print, unsafe=False)  # type: ignore[arg-type]
    assert fault_events(bus.store) == []
