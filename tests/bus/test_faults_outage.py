"""The bus across a store outage: what a listener could not write is written once it is back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drwlab.bus import MessageBus
from drwlab.bus.message import DB
from drwlab.faults import UnreachableStore
from drwlab.store import Store
from tests.bus.conftest import wait_until

LEASE = 60.0
"""Longer than any wait below: nothing may be left to wait out its lease."""
OUTAGE = 1.0


@pytest.fixture
def faulty(store: Store) -> UnreachableStore:
    return UnreachableStore(store)


@pytest.fixture
def bus(faulty: UnreachableStore) -> Iterator[MessageBus]:
    opened = MessageBus(faulty, lease=LEASE, max_attempts=3, retry_delay=0.05)
    try:
        yield opened
    finally:
        opened.close()


def test_an_acknowledgement_the_outage_stopped_is_written_after_it(
    bus: MessageBus, faulty: UnreachableStore
) -> None:
    calls: list[str] = []

    def handler(body: str) -> None:
        calls.append(body)
        faulty.outage(OUTAGE)  # the store goes away as the handler returns

    bus.listen("work", handler)
    message_id = bus.send("work", "hello")
    wait_until(lambda: faulty.inner.get(DB, message_id)["state"] == "done", timeout=OUTAGE + 15)
    assert calls == ["hello"]  # handled once: not redelivered when its lease ran out
    assert faulty.refused > 0


def test_a_message_whose_handler_lost_the_store_is_run_again_after_the_outage(
    bus: MessageBus, faulty: UnreachableStore
) -> None:
    calls: list[str] = []

    def handler(body: str) -> None:
        calls.append(body)
        if len(calls) == 1:
            faulty.outage(OUTAGE)
            faulty.get(DB, "anything")  # raises StoreUnavailable, as a store call would

    bus.listen("work", handler)
    message_id = bus.send("work", "hello")
    wait_until(lambda: faulty.inner.get(DB, message_id)["state"] == "done", timeout=OUTAGE + 15)
    doc = faulty.inner.get(DB, message_id)
    assert calls == ["hello", "hello"]
    assert doc["attempts"] == 1 and "error" not in doc  # not the message's fault: no attempt spent
