"""A randomized state machine of the bus: whatever happens, every message ends handled once or dead.

Hypothesis interleaves sends, bulk backlogs, listeners started and stopped
(on two buses, as two processes would have), handlers that fail always or
once, and claims left behind by a listener that died (their lease runs out).
When the steps are over, a listener is made sure to run and the bus is let
fall quiet; then every message must be done and handled exactly once, or
dead-lettered for a reason (a handler that always fails, or attempts used
up), and none may still be pending or claimed.

The listener's page and chunk sizes are made small here (``PAGE``, ``CHUNK``)
so that examples small enough to run by the dozen still cross page edges
with messages waiting out a retry ahead of the rest.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from drwlab.bus import MessageBus
from drwlab.bus import listener as listener_module
from drwlab.bus.claims import claim
from drwlab.bus.listener import Listener
from drwlab.bus.message import CLAIMED, DB, DEAD, DONE, PENDING, new_message
from drwlab.store import Store, open_store, sqlite_url
from tests.bus.conftest import wait_until
from tests.servers import CouchServer

SELECTOR = "test.machine"
PAGE = 12
"""The listener's page size in these examples (BATCH is 2,000 in use)."""
CHUNK = 5
"""The listener's largest claim chunk in these examples (CHUNK_MAX is 100 in use)."""
LEASE = 1.0
MAX_ATTEMPTS = 3
KINDS = ("ok", "ok", "ok", "fails-once", "always-fails")
"""What a message's handler does: return, raise on the first attempt only, or always raise."""
EXAMPLES = {"sqlite": 25, "couchdb": 8}


class Poison(ValueError):
    """What the handler raises for a message it cannot process."""


class BusMachine(RuleBasedStateMachine):
    """Steps on a bus over a fresh store; the final check is in ``teardown``."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.buses = [
            MessageBus(store, lease=LEASE, max_attempts=MAX_ATTEMPTS, retry_delay=0.05)
            for _ in range(2)
        ]
        self.listeners: list[Listener] = []
        self.kinds: dict[int, str] = {}
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.attempts: Counter[int] = Counter()
        self.handled: Counter[int] = Counter()

    # -- the handler ------------------------------------------------------------------
    def handle(self, body: dict[str, Any]) -> None:
        number, kind = body["n"], body["kind"]
        with self.lock:
            self.attempts[number] += 1
            first = self.attempts[number] == 1
        if kind == "always-fails" or (kind == "fails-once" and first):
            raise Poison(f"message {number} cannot be processed ({kind})")
        with self.lock:
            self.handled[number] += 1

    def message(self, kind: str) -> dict[str, Any]:
        number = next(self.numbers)
        self.kinds[number] = kind
        return {"n": number, "kind": kind}

    def alive(self) -> list[Listener]:
        return [listener for listener in self.listeners if listener.is_alive]

    # -- rules ----------------------------------------------------------------------------
    @rule(kind=st.sampled_from(KINDS), bus=st.integers(0, 1))
    def send(self, kind: str, bus: int) -> None:
        self.buses[bus].send(SELECTOR, self.message(kind))

    @rule(size=st.integers(1, 3 * PAGE), kinds=st.lists(st.sampled_from(KINDS), min_size=1))
    def queue_backlog(self, size: int, kinds: list[str]) -> None:
        bodies = [self.message(kinds[i % len(kinds)]) for i in range(size)]
        self.store.bulk_put(DB, [new_message(SELECTOR, body) for body in bodies])

    @precondition(lambda self: len(self.alive()) < 3)
    @rule(bus=st.integers(0, 1))
    def start_listener(self, bus: int) -> None:
        self.listeners.append(self.buses[bus].listen(SELECTOR, self.handle))

    @precondition(lambda self: bool(self.alive()))
    @rule(which=st.integers(0, 2))
    def stop_listener(self, which: int) -> None:
        alive = self.alive()
        alive[which % len(alive)].stop(timeout=5.0)

    @rule(count=st.integers(1, 3))
    def leave_claims_of_a_dead_listener(self, count: int) -> None:
        """Claim pending messages as a listener that then dies would: they wait out a lease."""
        pending = self.store.find(DB, {"selector": SELECTOR, "consumed": False}, limit=count)
        claim(self.store, pending, "dead-listener@elsewhere:1", lease=LEASE / 2)

    # -- the end --------------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            if not self.alive():
                self.listeners.append(self.buses[0].listen(SELECTOR, self.handle))
            self.wait_until_quiet()
            self.check_every_message()
        finally:
            for bus in self.buses:
                bus.close(timeout=5.0)

    def wait_until_quiet(self) -> None:
        """Wait for no message of the selector to be pending or claimed."""

        def quiet() -> bool:
            busy = {"selector": SELECTOR, "state": {"$in": [PENDING, CLAIMED]}}
            return not self.store.find(DB, busy, limit=1)

        # back-offs (0.05 s doubling), lease expiries (LEASE, checked every LEASE / 4)
        wait_until(quiet, timeout=30.0 + len(self.kinds) / 20)

    def check_every_message(self) -> None:
        docs = {doc["body"]["n"]: doc for doc in self.store.find(DB, {"selector": SELECTOR})}
        assert set(docs) == set(self.kinds), "a message went missing from the store"
        with self.lock:
            handled, attempts = Counter(self.handled), Counter(self.attempts)
        for number, kind in self.kinds.items():
            doc = docs[number]
            if doc["state"] == DONE:
                assert kind != "always-fails", f"message {number} cannot succeed, yet is done"
                assert handled[number] == 1, f"message {number} handled {handled[number]} times"
            else:
                assert doc["state"] == DEAD, f"message {number} ended {doc['state']!r}"
                assert handled[number] == 0, f"dead message {number} was handled"
                used_up = int(doc.get("attempts") or 0) >= MAX_ATTEMPTS
                assert kind == "always-fails" or used_up, (
                    f"message {number} ({kind}) dead after {doc.get('attempts')} attempts "
                    f"({attempts[number]} handler calls): {doc.get('error')}"
                )


def fresh_stores(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of ``backend`` for each example, closed after it."""
    server: CouchServer | None = None
    if backend == "couchdb":
        server = request.getfixturevalue("couch_server")
    for number in itertools.count():
        if server is None:
            store = open_store(sqlite_url(tmp_path / f"example-{number}.db"))
        else:
            server.drop_all_databases()
            store = open_store(server.url)
        yield store  # closed by the test once its example is over


def test_every_message_ends_handled_once_or_dead_whatever_happens(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listener_module, "BATCH", PAGE)
    monkeypatch.setattr(listener_module, "CHUNK_MAX", CHUNK)
    stores = fresh_stores(backend, tmp_path, request)
    opened: list[Store] = []

    def machine() -> BusMachine:
        if opened:
            opened.pop().close()
        store = next(stores)
        opened.append(store)
        return BusMachine(store)

    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES[backend],
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )
    finally:
        for store in opened:
            store.close()
