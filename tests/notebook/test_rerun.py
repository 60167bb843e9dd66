"""A notebook started again puts away what its earlier run built on the old sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab import MessageBus, Sandbox
from drwlab.exercises import add_failing_driver
from drwlab.notebook.rerun import built_on, put_away


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(
        workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0, executives=("EU",)
    )
    try:
        yield running
    finally:
        running.stop()


def test_the_notebooks_own_bus_and_driver_are_closed_and_nothing_else(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    bus = MessageBus(sandbox.store, retry_delay=0.1)
    hello = bus.listen("demo.hello", lambda body: None, name="hello-listener")
    failing = add_failing_driver(sandbox)
    elsewhere = Sandbox(workdir=tmp_path / "other", time_scale=0.0, failure_rate=0.0)
    try:
        other_bus = MessageBus(elsewhere.store)
        namespace = {"sb": sandbox, "bus": bus, "failing": failing, "other": other_bus,
                     "sandbox_bus": sandbox.bus, "_hidden": MessageBus(sandbox.store)}  # fmt: skip
        assert {id(thing) for thing in built_on(sandbox, namespace)} == {id(bus), id(failing)}
        closed = put_away(sandbox, namespace)
        assert len(closed) == 2
        deadline = time.monotonic() + 5
        while hello.is_alive and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not hello.is_alive and bus.listeners == []
        assert not failing.is_alive
        assert sandbox.running and sandbox.qa2.is_alive, "the sandbox itself is left running"
        assert other_bus.store is elsewhere.store and elsewhere.running
    finally:
        other_bus.close()
        elsewhere.stop()


def test_a_stopped_sandbox_has_nothing_to_put_away(sandbox: Sandbox) -> None:
    bus = MessageBus(sandbox.store)
    sandbox.stop()
    assert put_away(sandbox, {"bus": bus}) == []
    bus.close()


def test_outside_a_kernel_the_namespace_is_empty(sandbox: Sandbox) -> None:
    assert put_away(sandbox) == []
