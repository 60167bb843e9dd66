"""Delivery guarantees within one process: one listener per message, retries, dead letters."""

from __future__ import annotations

import threading
import time
from collections import Counter
from functools import partial
from typing import Any

import pytest

from drwlab.bus import MessageBus
from drwlab.errors import InvalidMessage
from drwlab.store import Store
from tests.bus.conftest import count_queries, hide_documents_from_the_feed, wait_until


def test_a_message_goes_to_one_of_two_listeners(bus: MessageBus, store: Store) -> None:
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(body: Any) -> None:
        with lock:
            seen[body] += 1

    first = bus.listen("work", handler, name="first")
    second = bus.listen("work", handler, name="second")
    for n in range(100):
        bus.send("work", n)
    wait_until(lambda: sum(seen.values()) >= 100, timeout=60)
    wait_until(lambda: store.count("msgq", {"selector": "work", "state": "done"}) == 100)
    assert seen == Counter(range(100))
    assert first.handled + second.handled == 100


def test_a_poison_message_is_dead_lettered_while_the_next_ones_flow(
    bus: MessageBus, store: Store
) -> None:
    handled: list[str] = []

    def handler(body: Any) -> None:
        if body == "poison":
            raise RuntimeError("cannot digest this")
        handled.append(body)

    listener = bus.listen("meals", handler)
    poison_id = bus.send("meals", "poison")
    for n in range(5):
        bus.send("meals", f"meal-{n}")
    wait_until(lambda: len(handled) == 5)
    wait_until(lambda: store.get("msgq", poison_id)["state"] == "dead")
    dead = bus.dead_letters()
    assert [doc["_id"] for doc in dead] == [poison_id]
    assert dead[0]["attempts"] == 3
    assert dead[0]["consumed"] is True
    assert dead[0]["error"] == "RuntimeError: cannot digest this"
    assert dead[0]["errorDetail"]["type"] == "RuntimeError"
    assert dead[0]["errorDetail"]["traceback"]
    assert listener.is_alive
    assert listener.failed == 3
    bus.send("meals", "dessert")
    wait_until(lambda: "dessert" in handled)


def test_a_failing_message_is_retried_and_then_handled(bus: MessageBus, store: Store) -> None:
    attempts: list[Any] = []

    def flaky(body: Any) -> None:
        attempts.append(body)
        if len(attempts) < 2:
            raise ConnectionError("try again")

    bus.listen("flaky", flaky)
    msg_id = bus.send("flaky", "x")
    wait_until(lambda: store.get("msgq", msg_id)["state"] == "done")
    doc = store.get("msgq", msg_id)
    assert doc["attempts"] == 2
    assert doc["error"] == "ConnectionError: try again"  # the last error stays on record
    assert attempts == ["x", "x"]


def test_an_invalid_message_is_dead_lettered_at_once(bus: MessageBus, store: Store) -> None:
    def strict(body: Any) -> None:
        raise InvalidMessage(f"no ousUID in {body!r}")

    bus.listen("strict", strict)
    msg_id = bus.send("strict", {"hello": 1})
    wait_until(lambda: store.get("msgq", msg_id)["state"] == "dead")
    doc = store.get("msgq", msg_id)
    assert doc["attempts"] == 1
    assert doc["error"] == "InvalidMessage: no ousUID in {'hello': 1}"
    assert "traceback" not in doc["errorDetail"]


def test_a_claim_whose_lease_expired_is_delivered_again(store: Store) -> None:
    bus = MessageBus(store, lease=1.0)
    try:
        msg_id = bus.send("orphans", "left behind")
        doc = store.get("msgq", msg_id)
        store.put(
            "msgq",
            dict(
                doc,
                consumed=True,
                state="claimed",
                claimedBy="ghost@nowhere:1",
                leaseExpires=time.time() - 1,
                attempts=1,
            ),
        )
        received: list[Any] = []
        bus.listen("orphans", received.append)
        wait_until(lambda: received, timeout=5)
        assert received == ["left behind"]
        wait_until(lambda: store.get("msgq", msg_id)["state"] == "done")
        assert store.get("msgq", msg_id)["attempts"] == 2
    finally:
        bus.close()


def test_a_slow_handler_keeps_its_lease(store: Store) -> None:
    bus = MessageBus(store, lease=1.0)
    calls: list[tuple[str, Any]] = []
    try:

        def slow(body: Any) -> None:
            calls.append(("slow", body))
            time.sleep(2.5)

        bus.listen("slow", slow)
        msg_id = bus.send("slow", "patience")
        wait_until(lambda: calls)
        # a competitor that would take the message if its claim were let expire
        bus.listen("slow", lambda body: calls.append(("fast", body)))
        wait_until(lambda: store.get("msgq", msg_id)["state"] == "done", timeout=10)
        assert calls == [("slow", "patience")]
        assert store.get("msgq", msg_id)["attempts"] == 1
    finally:
        bus.close()


def test_an_idle_listener_wakes_at_once(bus: MessageBus) -> None:
    started: list[float] = []
    bus.listen("sleepy", lambda body: started.append(time.monotonic()))
    time.sleep(3)
    sent = time.monotonic()
    bus.send("sleepy", "wake up")
    wait_until(lambda: started, timeout=5)
    assert started[0] - sent < 0.5


@pytest.mark.parametrize("feed", ["with documents", "without documents"])
def test_messages_for_one_selector_do_not_wake_listeners_of_another(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch, feed: str
) -> None:
    if feed == "without documents":  # the watcher then goes by the message ids
        hide_documents_from_the_feed(store, monkeypatch)
    looked_for = count_queries(store, monkeypatch)
    handled: list[Any] = []
    bus.listen("busy", handled.append)
    bus.listen("idle", handled.append)
    wait_until(lambda: looked_for["idle"] >= 1)  # its first look
    looked_for.clear()
    for n in range(20):
        bus.send("busy", n)
        wait_until(partial(handled.__contains__, n))
    # were it woken by "busy" traffic it would look about 20 times; a loaded machine
    # can add a start-up wake-up and a lease-timer look or two, never one per message
    assert looked_for["idle"] <= 3
    # at most about one look per message (its own claims and acknowledgements wake
    # nobody; a claim seen on the feed before the listener noted it may cost one more);
    # none at all when the feed brings the messages (see test_inbox.py)
    assert looked_for["busy"] <= 2 * 20 + 1
