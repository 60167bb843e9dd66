"""A teaching device: a listener that consumes messages the original system's way.

The original's ``dbmsgq.MessageQueue.getNext`` read the pending messages of its
selector, took the oldest, set ``consumed: true`` and saved it, and then ran
the handler; the save's answer was never looked at, so when two consumers had
read the same message both saves were sent, one was refused as a conflict,
and both consumers handled the message anyway. Measured on the original's
own code, two consumers handled 277 of 300 messages twice.

``OriginalWayListener`` does exactly that on drwlab's store, so the same
burst can be sent to two of these and to two listeners of the bus, and the
double handlings counted each way (``handled_twice``). It exists only to
teach this lesson: it never retries, never dead-letters, knows no lease and
must never carry real work. It is built only by passing ``unsafe=True``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from contextlib import suppress
from typing import Any, Literal

from drwlab.bus import MessageBus
from drwlab.bus.message import DB, DONE, age_key, validate_selector
from drwlab.errors import Conflict, StoreError
from drwlab.faults.events import ORIGINAL_CONSUMER, record_fault
from drwlab.store.base import Doc
from drwlab.timeutil import timestamp

logger = logging.getLogger(__name__)

ROUND_TRIP = 0.01
"""Seconds between reading the queue and writing ``consumed``: the original's two
HTTP requests to CouchDB, during which another consumer reads the same message."""
IDLE_POLL = 0.05
"""Pause when the queue is empty (the original slept 1 s, then longer)."""


class OriginalWayListener:
    """Consumes ``selector`` on ``bus``'s store as the original did; see the module docstring.

    Parameters
    ----------
    bus, selector, handler:
        As for ``MessageBus.listen``: ``handler(body)`` runs in a thread of its own.
    unsafe:
        Must be True: the opt-in that says you know messages will be handled twice.
    name:
        Names the thread and the ``handledBy`` this consumer writes.
    round_trip:
        Seconds between the read and the write (the original's network time).
    """

    def __init__(
        self,
        bus: MessageBus,
        selector: str,
        handler: Callable[[Any], object],
        *,
        unsafe: Literal[True],
        name: str = "original-consumer",
        round_trip: float = ROUND_TRIP,
    ) -> None:
        if unsafe is not True:
            raise ValueError(
                "OriginalWayListener handles messages twice by design (a teaching device): "
                "pass unsafe=True to build one; for real work use MessageBus.listen"
            )
        if round_trip < 0:
            raise ValueError(f"round_trip must be >= 0, not {round_trip!r}")
        self.selector = validate_selector(selector)
        self.name = name
        self.handled: list[str] = []
        """Ids of the messages this consumer handled, in order."""
        self._store = bus.store
        self._handler = handler
        self._round_trip = round_trip
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"drwlab-original-{name}", daemon=True
        )

    def __repr__(self) -> str:
        state = "alive" if self._thread.is_alive() else "stopped"
        return f"OriginalWayListener({self.selector!r}, name={self.name!r}, {state})"

    def start(self) -> OriginalWayListener:
        """Start consuming (records an ``original-consumer`` fault event)."""
        record_fault(self._store, ORIGINAL_CONSUMER, name=self.name, selector=self.selector)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the current message; wait up to ``timeout`` s for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                doc = self._next()
            except StoreError as error:
                logger.warning("%s: %s", self.name, error)
                self._stop.wait(IDLE_POLL)
                continue
            if doc is None:
                self._stop.wait(IDLE_POLL)
                continue
            try:
                self._handler(doc.get("body"))
            except Exception:  # the original's listener died here; this one carries on
                logger.exception("%s: handler failed on %s", self.name, doc["_id"])
            self.handled.append(doc["_id"])

    def _next(self) -> Doc | None:
        """The oldest pending message, marked consumed without checking the write went in."""
        pending = self._store.find(DB, {"selector": self.selector, "consumed": False})
        if not pending:
            return None
        oldest = min(pending, key=age_key)
        self._stop.wait(self._round_trip)
        consumed = dict(
            oldest, consumed=True, state=DONE, handledBy=self.name, handledTimestamp=timestamp()
        )
        with suppress(Conflict):  # the original's save() got a 409 here, and nobody looked
            self._store.put(DB, consumed)
        return oldest


def handled_twice(*handled: Iterable[Hashable]) -> dict[Hashable, int]:
    """What was handled more than once across the given lists, with how many times.

    Pass ``consumer.handled`` (message ids) of each OriginalWayListener, or
    whatever your handlers recorded of each body (a number sent in it, say).
    """
    counts = Counter(doc_id for ids in handled for doc_id in ids)
    return {doc_id: count for doc_id, count in counts.items() if count > 1}
