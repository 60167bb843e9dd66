"""One thread per bus that follows the ``msgq`` change feed and wakes the listeners concerned.

Every listener (and every RPC call waiting for its reply) registers an Event
with its selector. The watcher blocks in ``store.wait_for_change`` once for
all of them (one CouchDB longpoll per bus, not one per listener), reads the
ids that changed, and sets the Events of the selectors those messages belong
to: a message id ends in ``@<selector>`` (see ``message.new_message_id``), so
a message for ``cached.JAO`` does not make the ``xtss`` server query. An id
without a selector (a group document, a message written by other tools)
wakes everyone. A listener rearms its Event *before* it queries, so a change
landing while it queries still wakes it: nothing is missed, nothing polls.

The watcher waits on the feed only while some subscriber is idle (has
rearmed): a busy listener looks for work again by itself, so a drain does
not also drive a longpoll per write. The same thread renews the leases of
messages whose handler still runs (a heartbeat), so a slow but alive handler
is not delivered twice. The thread runs only while something is registered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from drwlab.bus.message import selector_of_id
from drwlab.errors import Conflict, StoreError
from drwlab.outage import StoreOutage
from drwlab.store.base import Change, ChangesPage, Doc, Seq, Store

logger = logging.getLogger(__name__)

STORE_RETRY_DELAY = 1.0
"""Pause after an unexpected error before the watcher carries on."""
CHANGES_PAGE = 500
"""Changes read per wake-up; a full page wakes everyone (cheaper than reading on)."""
UNLISTED_TRIES = 10
UNLISTED_PAUSE = 0.002
"""Re-reads of a change the feed signalled but does not list yet, and the pause between."""
QUIET_MAX = 10_000
"""Most quiet writes remembered (a safety bound: each is forgotten once seen)."""


class ChangeWatcher:
    """Wakes registered Events on changes of ``db``; keeps held claims' leases alive.

    Parameters
    ----------
    store, db:
        Where the messages live.
    lease:
        Seconds a claim lasts; a held claim is renewed once less than half remains.
    poll:
        Longest single wait on the change feed (bounds how late the thread notices
        it should stop, and how often leases are checked).
    """

    def __init__(self, store: Store, db: str, *, lease: float, poll: float) -> None:
        self._store = store
        self._db = db
        self._lease = lease
        self._poll = poll
        self._lock = threading.Lock()
        self._subscribers: dict[threading.Event, str] = {}
        self._held: dict[str, Doc] = {}
        self._lost: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._stopped: list[threading.Thread] = []
        self._demand = threading.Event()
        self._quiet: dict[str, str] = {}
        self._unlisted = 0
        self._outage = StoreOutage(logger, "bus watcher")

    # -- subscribers ----------------------------------------------------------
    def subscribe(self, event: threading.Event, selector: str) -> None:
        """Set ``event`` on changes of ``selector``'s messages (starting the thread if needed)."""
        with self._lock:
            self._subscribers[event] = selector
            self._demand.set()
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="drwlab-bus-watcher", daemon=True
                )
                self._thread.start()

    def rearm(self, event: threading.Event) -> None:
        """Clear ``event`` before looking for work, so that the next change sets it again."""
        event.clear()
        self._demand.set()

    def unsubscribe(self, event: threading.Event) -> None:
        """Stop waking ``event``; the thread ends once nothing is registered."""
        with self._lock:
            self._subscribers.pop(event, None)
            self._stop_if_idle()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the threads stopped so far to end."""
        deadline = time.monotonic() + timeout
        with self._lock:
            stopped, self._stopped = self._stopped, []
        for thread in stopped:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _stop_if_idle(self) -> None:
        if self._subscribers or self._held or self._stop is None or self._thread is None:
            return
        self._stop.set()
        self._demand.set()
        self._stopped.append(self._thread)
        self._thread = None
        self._stop = None

    @property
    def store_down(self) -> bool:
        """True while the watcher's own store calls fail (an outage it is riding out).

        Listeners then wait for the watcher's wake-up, sent when the store
        answers again, instead of each probing the store themselves.
        """
        return self._outage.ongoing

    # -- claims in progress -----------------------------------------------------
    def hold(self, doc: Doc) -> None:
        """Keep the lease of claimed message ``doc`` alive until ``release``."""
        with self._lock:
            self._held[doc["_id"]] = doc

    def release(self, doc_id: str) -> Doc:
        """Stop renewing ``doc_id``; return its latest revision (to acknowledge with)."""
        with self._lock:
            self._lost.discard(doc_id)
            doc = self._held.pop(doc_id)
            self._stop_if_idle()
            return doc

    def quiet(self, docs: Iterable[Doc]) -> None:
        """Note writes of this bus that give nobody work (claims, acknowledgements).

        Their changes wake no one: a listener does not re-query after its own
        claim, nor does a competitor, since a claim only takes work away.
        """
        with self._lock:
            if len(self._quiet) > QUIET_MAX:
                self._quiet.clear()
            self._quiet.update((doc["_id"], doc["_rev"]) for doc in docs)

    def held_ids(self) -> set[str]:
        """Ids of the messages whose handler is running in this bus."""
        with self._lock:
            return set(self._held)

    # -- the thread ---------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        seq: Seq | None = None
        outage = self._outage
        while not stop.is_set():
            try:
                if seq is None:
                    seq = self._store.current_seq(self._db)
                    outage.recovered()  # before waking: listeners ask store_down
                    self._wake(everyone=True)  # whatever happened before we knew seq
                if self._everyone_awake():
                    self._demand.wait(self._poll)
                else:
                    page = self._store.wait_for_changes(self._db, seq, self._poll, CHANGES_PAGE)
                    if page is not None:
                        seq = self._read_changes(seq, page)
                self._renew_leases()
                outage.recovered()
            except StoreError as error:
                seq = None
                stop.wait(outage.failed(error))
            except Exception:  # a bug or a malformed answer must not end the thread
                logger.exception("bus watcher: unexpected error; carrying on")
                seq = None
                stop.wait(STORE_RETRY_DELAY)

    def _read_changes(self, seq: Seq, page: ChangesPage) -> Seq:
        """Wake the subscribers concerned by ``page`` (the changes after ``seq``); the new seq."""
        if not page.changes and page.last_seq == seq:
            # pouchdb-server may answer a long-poll a moment before its change
            # feed lists the change: look again shortly; wake everyone if it never does
            self._unlisted += 1
            if self._unlisted < UNLISTED_TRIES:
                time.sleep(UNLISTED_PAUSE)
                return seq
            self._wake(everyone=True)
            return self._store.current_seq(self._db)
        self._unlisted = 0
        self._wake(page.changes, everyone=len(page.changes) >= CHANGES_PAGE)
        return page.last_seq

    def _everyone_awake(self) -> bool:
        """True if every subscriber has a wake-up it has not acted on yet.

        Waiting on the feed then would only load the store, so the watcher
        waits until one rearms.
        """
        self._demand.clear()
        with self._lock:
            return all(event.is_set() for event in self._subscribers)

    def _wake(self, changes: Iterable[Change] = (), *, everyone: bool = False) -> None:
        with self._lock:
            selectors = {
                selector_of_id(change.id)
                for change in changes
                if self._quiet.pop(change.id, None) != change.rev
            }
            everyone = everyone or None in selectors
            for event, selector in self._subscribers.items():
                if everyone or selector in selectors:
                    event.set()

    def _renew_leases(self) -> None:
        now = time.time()
        with self._lock:
            for doc_id, doc in list(self._held.items()):
                if (
                    doc_id in self._lost
                    or float(doc.get("leaseExpires", 0)) - now >= self._lease / 2
                ):
                    continue
                renewed: dict[str, Any] = dict(doc, leaseExpires=now + self._lease)
                try:
                    self._held[doc_id] = self._store.put(self._db, renewed)
                    self._quiet[doc_id] = self._held[doc_id]["_rev"]
                except Conflict:
                    logger.warning(
                        "message %s was taken over while its handler still runs "
                        "(lease expired?); it may be handled twice",
                        doc_id,
                    )
                    # keep the stale revision: the acknowledgement will conflict and say so
                    self._lost.add(doc_id)
