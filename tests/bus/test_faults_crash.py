"""Crash a listener mid-message: nothing written, its lease runs out, a competitor takes over."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from drwlab.bus import MessageBus, crash_deferred
from drwlab.bus.message import DB
from drwlab.faults import ListenerCrashed, crash_actor, fault_events
from drwlab.store import Store
from tests.bus.conftest import wait_until

LEASE = 1.0


@pytest.fixture
def short_bus(store: Store) -> Iterator[MessageBus]:
    """A bus whose claims last a second, so a crashed listener's message waits that long."""
    opened = MessageBus(store, lease=LEASE, max_attempts=3, retry_delay=0.05)
    try:
        yield opened
    finally:
        opened.close()


def test_a_crashed_listener_leaves_its_message_to_a_competitor(short_bus: MessageBus) -> None:
    bus = short_bus
    started = threading.Event()
    finished = threading.Event()
    stopped_by: list[str] = []
    handled_by_b: list[dict[str, str]] = []

    def slow(body: dict[str, str]) -> None:
        started.set()
        try:
            while not finished.wait(0.02):  # a long run, polled as the pipeline driver does
                pass
        except BaseException as error:
            stopped_by.append(type(error).__name__)
            raise

    first = bus.listen("work", slow, name="driver.a-1")
    message_id = bus.send("work", {"ous": "uid://X1/X1/Xb2"})
    assert started.wait(10)
    bus.listen("work", handled_by_b.append, name="driver.b-1")

    crash = crash_actor(bus, "driver.a")

    assert crash.listeners == ("driver.a-1",) and crash.held == (message_id,)
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "done")
    assert stopped_by == ["ListenerCrashed"]
    wait_until(lambda: not first.is_alive)
    assert first.crashed and "crashed" in repr(first)
    doc = bus.store.get(DB, message_id)
    assert handled_by_b == [{"ous": "uid://X1/X1/Xb2"}]
    assert doc["handledBy"].startswith("driver.b-1@") and doc["attempts"] == 2
    expired = doc["errorHistory"][-1]
    assert expired["type"] == "LeaseExpired" and "driver.a-1@" in expired["message"]
    events = fault_events(bus.store)
    assert [(e["kind"], e["actor"], e["held"], e["lease"]) for e in events] == [
        ("crash", "driver.a", [message_id], LEASE)
    ]


def test_an_idle_listener_crashed_takes_nothing_more(short_bus: MessageBus) -> None:
    bus = short_bus
    by_a: list[str] = []
    by_b: list[str] = []
    a = bus.listen("idle", by_a.append, name="a-1")
    assert crash_actor(bus, "a").held == ()
    wait_until(lambda: not a.is_alive)
    bus.listen("idle", by_b.append, name="b-1")
    message_id = bus.send("idle", "hello")
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "done")
    assert (by_a, by_b) == ([], ["hello"])
    assert bus.listeners and all(listener.name == "b-1" for listener in bus.listeners)


def test_crashing_an_unknown_actor_names_the_running_ones(short_bus: MessageBus) -> None:
    short_bus.listen("work", print, name="driver.a-1")
    with pytest.raises(
        ValueError, match=r"no running listener of an actor named 'drive'.*driver\.a"
    ):
        crash_actor(short_bus, "drive")
    assert fault_events(short_bus.store) == []
    assert ListenerCrashed.__mro__[1] is BaseException  # handlers' `except Exception` miss it


def test_a_crash_waits_for_the_end_of_a_crash_deferred_section(short_bus: MessageBus) -> None:
    bus = short_bus
    inside, go_on = threading.Event(), threading.Event()
    steps: list[str] = []

    def starts_a_child(body: str) -> None:
        try:
            with crash_deferred():  # as the pipeline driver starts its pipeline
                inside.set()
                assert go_on.wait(10)
                steps.append("section ended")
            steps.append("after the section")  # never: the crash is raised as it ends
        except BaseException as error:
            steps.append(type(error).__name__)
            raise

    listener = bus.listen("child", starts_a_child, name="driver.a-1")
    message_id = bus.send("child", "run")
    assert inside.wait(10)
    crash = crash_actor(bus, "driver.a")
    assert not listener.is_alive  # dead to everyone from the crash on
    go_on.set()
    wait_until(lambda: len(steps) == 2)
    assert crash.held == (message_id,)
    assert steps == ["section ended", "ListenerCrashed"]
    assert bus.store.get(DB, message_id)["state"] == "claimed"  # left to its lease


def test_crash_deferred_outside_a_handler_does_nothing() -> None:
    with crash_deferred():
        ran = True
    assert ran
