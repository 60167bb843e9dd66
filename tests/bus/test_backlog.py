"""A backlog queued before anyone listens is handled whole, exactly once, on both stores.

A listener reads the queue a page at a time (``listener.BATCH``) and claims in
chunks (``listener.CHUNK_MAX``), so the counts sit on both sides of each edge.
A restarted pipeline driver, a listener started after a burst of launches, a
classroom server left running over a weekend: all start on a backlog.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

from drwlab.bus import MessageBus
from drwlab.bus.listener import BATCH, CHUNK_MAX
from drwlab.bus.message import DB, DONE, new_message
from drwlab.store import Store
from tests.bus.conftest import wait_until

SELECTOR = "test.backlog"
BULK = 1000
"""Messages queued per bulk write."""


def queue_backlog(store: Store, numbers: range) -> None:
    """Queue one message per number, as a burst of earlier senders would have."""
    for start in range(numbers.start, numbers.stop, BULK):
        chunk = range(start, min(numbers.stop, start + BULK))
        store.bulk_put(DB, [new_message(SELECTOR, {"n": n}) for n in chunk])


def drain_time(count: int) -> float:
    """Seconds a drain of ``count`` messages may take: proportional to the count.

    50 messages a second is half the slowest drain seen on these machines
    (pouchdb-server on 2 cores with a dozen other processes busy: 100 a second).
    """
    return 15.0 + count / 50


class Tally:
    """What the handlers saw, across listeners and threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.handled: Counter[int] = Counter()

    def handler(self, body: dict[str, int]) -> None:
        with self._lock:
            self.handled[body["n"]] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.handled.values())

    def assert_each_once(self, numbers: range) -> None:
        with self._lock:
            twice = sorted(n for n, times in self.handled.items() if times > 1)
            missing = sorted(set(numbers) - set(self.handled))
        assert not twice, f"handled more than once: {twice[:10]} ({len(twice)} in all)"
        assert not missing, f"never handled: {missing[:10]} ({len(missing)} in all)"


def assert_queue_worked_through(store: Store, count: int) -> None:
    """Every message of the selector ends done in the store: none pending, claimed or dead.

    (The last handler may have returned a moment before its acknowledgement is written.)
    """
    expected = Counter({DONE: count} if count else {})

    def states() -> Counter[object]:
        found = store.find(DB, {"selector": SELECTOR}, fields=["state"])
        return Counter(doc.get("state") for doc in found)

    try:
        wait_until(lambda: states() == expected, timeout=drain_time(0))
    finally:
        assert states() == expected


def wait_for_total(tally: Tally, count: int) -> None:
    wait_until(lambda: tally.total >= count, timeout=drain_time(count))


EDGES = [0, 1, CHUNK_MAX - 1, CHUNK_MAX, CHUNK_MAX + 1, BATCH - 1, BATCH, BATCH + 1, 5000]


@pytest.mark.parametrize("count", EDGES)
def test_a_backlog_queued_before_the_listener_starts_is_handled_once(
    store: Store, bus: MessageBus, count: int
) -> None:
    queue_backlog(store, range(count))
    tally = Tally()
    listener = bus.listen(SELECTOR, tally.handler)
    wait_for_total(tally, count)
    listener.stop(timeout=5.0)
    tally.assert_each_once(range(count))
    assert_queue_worked_through(store, count)


@pytest.mark.slow
def test_a_backlog_of_twenty_thousand_is_handled_once(store: Store, bus: MessageBus) -> None:
    count = 20_000
    queue_backlog(store, range(count))
    tally = Tally()
    bus.listen(SELECTOR, tally.handler)
    wait_for_total(tally, count)
    tally.assert_each_once(range(count))
    assert_queue_worked_through(store, count)


def test_messages_sent_while_a_backlog_drains_are_handled_once_too(
    store: Store, bus: MessageBus
) -> None:
    backlog, later = 3 * BATCH // 2, 500
    queue_backlog(store, range(backlog))
    tally = Tally()
    bus.listen(SELECTOR, tally.handler)
    wait_until(lambda: tally.total > 0, timeout=drain_time(0))
    for n in range(backlog, backlog + later):  # while the backlog is being worked through
        bus.send(SELECTOR, {"n": n})
    wait_for_total(tally, backlog + later)
    tally.assert_each_once(range(backlog + later))
    assert_queue_worked_through(store, backlog + later)


def test_a_listener_stopped_halfway_leaves_the_rest_to_the_next_one(
    store: Store, bus: MessageBus
) -> None:
    count = 2 * BATCH + BATCH // 2
    queue_backlog(store, range(count))
    tally = Tally()
    first = bus.listen(SELECTOR, tally.handler)
    wait_until(lambda: tally.total >= count // 2, timeout=drain_time(count))
    first.stop(timeout=5.0)
    assert not first.is_alive
    stopped_at = tally.total
    assert stopped_at < count, "the backlog was drained before the stop: nothing was tested"
    bus.listen(SELECTOR, tally.handler)
    wait_for_total(tally, count)
    tally.assert_each_once(range(count))
    assert_queue_worked_through(store, count)


def test_two_competing_listeners_share_a_backlog_and_handle_each_message_once(
    store: Store, bus: MessageBus
) -> None:
    count = 5000
    queue_backlog(store, range(count))
    tally = Tally()
    per_listener: Counter[str] = Counter()

    def counted(name: str) -> Callable[[dict[str, int]], None]:
        def handler(body: dict[str, int]) -> None:
            per_listener[name] += 1
            tally.handler(body)

        return handler

    other = MessageBus(store, lease=5.0, max_attempts=3, retry_delay=0.05)  # another process's
    try:
        bus.listen(SELECTOR, counted("first"))
        other.listen(SELECTOR, counted("second"))
        wait_for_total(tally, count)
    finally:
        other.close()
    tally.assert_each_once(range(count))
    assert_queue_worked_through(store, count)
    assert sum(per_listener.values()) == count
