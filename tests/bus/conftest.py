"""Fixtures of the bus tests: a bus on each backend's store, closed after the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drwlab.bus import MessageBus
from drwlab.store import Store


@pytest.fixture
def bus(store: Store) -> Iterator[MessageBus]:
    """A bus with quick retries; every listener it started is stopped afterwards."""
    opened = MessageBus(store, lease=5.0, max_attempts=3, retry_delay=0.05)
    try:
        yield opened
    finally:
        opened.close()


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Return once ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


def bus_threads() -> list[str]:
    """Names of the bus's threads still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("drwlab-")]
