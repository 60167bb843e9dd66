"""One thread per bus that follows the ``msgq`` change feed and wakes the listeners concerned.

Every listener (and every RPC call waiting for its reply) registers an Event
with its selector, and an Inbox (``inbox.py``). The watcher follows the
change feed once for all of them (``store.follow_changes``: on CouchDB one
open continuous feed per bus, not a request per listener or per change),
which brings the changed documents with it. A pending message goes into the
Inboxes of its selector's subscribers and sets their Events, so a message
for ``cached.JAO`` does not make the ``xtss`` server look, and a woken
listener claims what its Inbox holds without a query. Anything else of a
selector (a claim, an acknowledgement) only takes it out of the Inboxes. A
change whose document is missing is routed by its id, which ends in
``@<selector>`` (see ``message.new_message_id``): it wakes that selector's
subscribers (everyone's, for an id without a selector) and makes their
Inboxes ask for a query. A listener rearms its Event *before* it looks, so
a change landing while it looks still wakes it: nothing is missed, nothing
polls.

The watcher reads the feed only while some subscriber is idle (has
rearmed): a busy listener looks for work again by itself, so during a drain
the feed waits, unread. The same thread renews the leases of messages whose
handler still runs (a heartbeat), so a slow but alive handler is not
delivered twice. The thread runs only while something is registered, and for
``CALLER_LINGER`` seconds after an RPC caller, the last, has gone: a process whose
only bus traffic is its own calls (the data tracker, a launcher) would otherwise
start the thread again at every call, each time asking the store for its place in
the feed, opening a feed, and having the caller look once more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from drwlab.bus.inbox import Inbox
from drwlab.bus.message import selector_of_id
from drwlab.errors import Conflict, StoreError
from drwlab.outage import StoreOutage
from drwlab.store.base import Change, ChangesPage, Doc, Seq, Store, rev_generation

logger = logging.getLogger(__name__)

STORE_RETRY_DELAY = 1.0
"""Pause after an unexpected error before the watcher carries on."""
CHANGES_PAGE = 500
"""Most changes read per wake-up (the rest are read on the next turn)."""
CALLER_LINGER = 10.0
"""Seconds the thread stays, with its feed open, after the last subscriber, an RPC
caller, has gone (a listener's stop ends it at once, as does ``stop``)."""
QUIET_MAX = 10_000
"""Most quiet writes remembered (a safety bound: each is forgotten once seen)."""
_ENDED = object()
"""What ``next`` gives for a feed the server closed."""


class _Subscriber(NamedTuple):
    """One registered Event's selector, Inbox, and whether it wants messages written
    taken already (``subscribe``'s ``taken_too``: an RPC caller's reply)."""

    selector: str
    inbox: Inbox | None
    taken_too: bool


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
        self._subscribers: dict[threading.Event, _Subscriber] = {}
        self._held: dict[str, Doc] = {}
        self._lost: set[str] = set()
        self._dead: set[str] = set()  # identities of crashed listeners (drwlab.faults)
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._stopped: list[threading.Thread] = []
        self._linger_until = 0.0  # monotonic; the thread, idle, stays until then
        self._demand = threading.Event()
        self._quiet: dict[str, str] = {}
        # pending revisions routed once, by ``landed`` or from the feed, that the other
        # may still bring: the second to come is not routed again
        self._routed: dict[str, str] = {}
        self._outage = StoreOutage(logger, "bus watcher")

    # -- subscribers ----------------------------------------------------------
    def subscribe(
        self,
        event: threading.Event,
        selector: str,
        inbox: Inbox | None = None,
        *,
        taken_too: bool = False,
    ) -> None:
        """Set ``event`` on changes of ``selector``'s messages (starting the thread if needed),
        and keep ``inbox`` up to date with the selector's pending messages.

        ``taken_too``: also offer ``inbox`` the messages written taken already (an RPC
        caller's reply, which the server writes taken in the caller's name).
        """
        with self._lock:
            self._subscribers[event] = _Subscriber(selector, inbox, taken_too)
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

    def unsubscribe(self, event: threading.Event, *, linger: bool = False) -> None:
        """Stop waking ``event``; the thread ends once nothing is registered.

        ``linger``: an RPC caller leaving; the thread then ends only if nothing has
        registered within ``CALLER_LINGER`` s, so that the next call finds it running.
        """
        with self._lock:
            self._subscribers.pop(event, None)
            if linger:
                self._linger_until = time.monotonic() + CALLER_LINGER
            else:
                self._stop_if_idle()

    def stop(self) -> None:
        """End the thread now if nothing is registered (it may be lingering after a call)."""
        with self._lock:
            self._linger_until = 0.0
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
        if time.monotonic() < self._linger_until:
            return  # the thread ends itself once the time is up (``_end_lingering``)
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
        """Keep the lease of claimed message ``doc`` alive until ``release``.

        Not for a claim of a crashed listener's (see ``abandon``): its lease runs out.
        """
        with self._lock:
            if doc.get("claimedBy") not in self._dead:
                self._held[doc["_id"]] = doc

    def abandon(self, identity: str) -> list[str]:
        """Stop renewing every claim of listener ``identity``, now and later; return their ids.

        What a killed process leaves: claims nobody renews, whose lease runs out
        so that another listener takes the messages. Nothing is written.
        """
        with self._lock:
            self._dead.add(identity)
            ids = [i for i, doc in self._held.items() if doc.get("claimedBy") == identity]
            for doc_id in ids:
                del self._held[doc_id]
                self._lost.discard(doc_id)
            self._stop_if_idle()
            return ids

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

    def landed(self, docs: Iterable[Doc]) -> None:
        """Route pending messages this process has just written to its own subscribers.

        They need not wait for the change feed to bring them (on SQLite a hop
        through this thread, on a server the feed's delay): the writer fills
        the Inboxes and sets the Events itself. When the feed brings the same
        revision it is not routed again, so a listener does not try to claim a
        message twice.
        """
        routed: dict[str, list[Doc]] = {}
        taken: dict[str, list[Doc]] = {}
        for doc in docs:
            selector = doc.get("selector")
            if isinstance(selector, str):
                pending = doc.get("consumed") is False
                (routed if pending else taken).setdefault(selector, []).append(doc)
        with self._lock:
            if not self._subscribers:
                return  # nobody here to route to: the feed does it for everyone
            for selector, selector_docs in list(routed.items()):
                fresh = [doc for doc in selector_docs if not self._routed_before(doc)]
                if fresh:
                    routed[selector] = fresh
                else:
                    del routed[selector]
            for event, (selector, inbox, taken_too) in self._subscribers.items():
                offered = routed.get(selector, [])
                if taken_too:
                    offered = offered + taken.get(selector, [])
                if offered:
                    if inbox is not None:
                        for doc in offered:
                            inbox.offer(doc)
                    event.set()

    def _routed_before(self, doc: Doc) -> bool:
        """True if pending revision ``doc`` was routed already; else note that it is now.

        Called under the lock, by whichever of ``landed`` and the feed comes first and second.
        """
        if self._routed.pop(doc["_id"], None) == doc["_rev"]:
            return True
        if len(self._routed) >= QUIET_MAX:
            self._routed.clear()  # a safety bound: at worst a claim is tried twice and lost
        self._routed[doc["_id"]] = doc["_rev"]
        return False

    def held_ids(self) -> set[str]:
        """Ids of the messages whose handler is running in this bus."""
        with self._lock:
            return set(self._held)

    # -- the thread ---------------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        seq: Seq | None = None
        feed: Iterator[ChangesPage | None] | None = None
        outage = self._outage
        try:
            while not stop.is_set():
                self._end_lingering()
                if stop.is_set():
                    break
                try:
                    if seq is None:
                        seq = self._store.current_seq(self._db)
                        outage.recovered()  # before waking: listeners ask store_down
                        self._wake(everyone=True)  # whatever happened before we knew seq
                    if feed is None:
                        feed = self._store.follow_changes(
                            self._db,
                            seq,
                            heartbeat=self._poll,
                            limit=CHANGES_PAGE,
                            include_docs=True,
                        )
                    if self._everyone_awake():
                        self._demand.wait(self._poll)  # the feed waits, unread
                    else:
                        page = next(feed, _ENDED)
                        if page is _ENDED:
                            feed = None  # the server closed it: follow again from seq
                        elif isinstance(page, ChangesPage):
                            self._wake(page.changes)
                            seq = page.last_seq
                    self._renew_leases()
                    outage.recovered()
                except StoreError as error:
                    _close(feed)
                    seq = feed = None
                    stop.wait(outage.failed(error))
                except Exception:  # a bug or a malformed answer must not end the thread
                    logger.exception("bus watcher: unexpected error; carrying on")
                    _close(feed)
                    seq = feed = None
                    stop.wait(STORE_RETRY_DELAY)
        finally:
            _close(feed)

    def _end_lingering(self) -> None:
        """Stop, once the time to linger after the last RPC caller is up."""
        with self._lock:
            if self._linger_until and time.monotonic() >= self._linger_until:
                self._linger_until = 0.0
                self._stop_if_idle()

    def _everyone_awake(self) -> bool:
        """True if every subscriber has a wake-up it has not acted on yet.

        Waiting on the feed then would only load the store, so the watcher
        waits until one rearms.
        """
        self._demand.clear()
        with self._lock:
            return all(event.is_set() for event in self._subscribers)

    def _wake(self, changes: Iterable[Change] = (), *, everyone: bool = False) -> None:
        """Fill the Inboxes and set the Events concerned by ``changes``.

        ``everyone``: something may have changed unseen (the watcher started, or
        started again after an error): wake all, and have every Inbox ask for a query.
        """
        pending: dict[str, list[Doc]] = {}
        taken: dict[str, list[Doc]] = {}
        woken: set[str | None] = set()
        unseen: set[str | None] = set()
        with self._lock:
            for change in changes:
                quiet = self._quiet.pop(change.id, None) == change.rev
                doc = change.doc
                if doc is None or not _describes(doc, change):
                    # nothing (or an older revision) to read: the id says whose it is
                    selector_by_id = selector_of_id(change.id)
                    unseen.add(selector_by_id)
                    if not quiet:
                        woken.add(selector_by_id)
                    continue
                selector = doc.get("selector")
                if not isinstance(selector, str):
                    continue  # a group document: nobody's work
                if doc.get("consumed") is False:
                    if self._routed_before(doc):
                        continue  # ``landed`` routed this very revision already
                    pending.setdefault(selector, []).append(doc)
                    woken.add(selector)
                else:
                    taken.setdefault(selector, []).append(doc)
            everyone = everyone or None in woken
            unseen_all = everyone or None in unseen
            for event, (selector, inbox, wants_taken) in self._subscribers.items():
                taken_too = wants_taken and selector in taken
                if inbox is not None:
                    if unseen_all or selector in unseen:
                        inbox.lose()
                    else:
                        for doc in taken.get(selector, ()):
                            if taken_too:
                                inbox.offer(doc)  # a reply written taken for this caller
                            else:
                                inbox.drop(doc)
                        for doc in pending.get(selector, ()):
                            inbox.offer(doc)
                if everyone or selector in woken or taken_too:
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


def _close(feed: Iterator[ChangesPage | None] | None) -> None:
    """Close ``feed`` (and so its connection), if there is one."""
    close = getattr(feed, "close", None)
    if close is not None:
        close()


def _describes(doc: Doc, change: Change) -> bool:
    """True if ``doc`` is the revision ``change`` wrote or a later one.

    A feed may read the document after a later write (CouchDB fetches it by
    id): that is a fresher look at the same message, and as good to route by.
    """
    rev = doc.get("_rev")
    if rev == change.rev:
        return True
    doc_generation, change_generation = rev_generation(rev), rev_generation(change.rev)
    if doc_generation is None or change_generation is None:
        return False
    return doc_generation > change_generation
