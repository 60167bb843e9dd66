"""Stopping: listeners end within a second and leave no thread behind."""

from __future__ import annotations

import threading
import time

from drwlab.bus import MessageBus
from drwlab.store import Store
from tests.bus.conftest import bus_threads, wait_until


def test_stop_ends_the_listener_within_a_second(bus: MessageBus) -> None:
    listener = bus.listen("quiet", print, name="quiet")
    time.sleep(0.2)
    began = time.monotonic()
    listener.stop()
    assert time.monotonic() - began < 1.0
    assert not listener.is_alive
    assert bus_threads() == []


def test_stop_is_idempotent(bus: MessageBus) -> None:
    listener = bus.listen("twice", print)
    listener.stop()
    listener.stop()
    assert not listener.is_alive


def test_close_stops_every_listener_and_server(store: Store) -> None:
    before = set(threading.enumerate())
    bus = MessageBus(store)
    listeners = [bus.listen(f"sel-{n}", print) for n in range(5)]
    server = bus.serve("svc", lambda request: request)
    assert bus.call("svc", "ping") == "ping"
    began = time.monotonic()
    bus.close()
    assert time.monotonic() - began < 1.5
    assert not any(listener.is_alive for listener in [*listeners, server])
    assert set(threading.enumerate()) <= before


def test_a_listener_reports_its_name_selector_and_count(bus: MessageBus) -> None:
    listener = bus.listen("named", lambda body: None, name="counter")
    assert (listener.selector, listener.name) == ("named", "counter")
    bus.send("named", 1)
    bus.send("named", 2)
    wait_until(lambda: listener.handled == 2)
    assert "counter" in repr(listener)


def test_a_handler_may_stop_its_own_listener(bus: MessageBus) -> None:
    holder: list[object] = []

    def stop_self(body: object) -> None:
        holder[0].stop()  # type: ignore[attr-defined]

    holder.append(bus.listen("once", stop_self))
    bus.send("once", 1)
    wait_until(lambda: not holder[0].is_alive)  # type: ignore[attr-defined]
