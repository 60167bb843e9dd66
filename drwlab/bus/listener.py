"""The Listener: one daemon thread that claims, handles and acknowledges the messages of a selector.

The loop: look for pending messages of the selector, claim them oldest first
(``claims.py``: by revision, so of competing listeners exactly one gets
each), run the handler, acknowledge. It looks with an indexed query the
first time, and afterwards whenever its Inbox cannot vouch for having seen
every change (``inbox.py``); otherwise what the bus's ChangeWatcher put in
the Inbox is the new work, and no query is made. With nothing to do it
sleeps on an Event that the watcher sets when a message of its selector
lands and that ``stop()`` sets too: it neither polls nor lingers.
Every ``lease / 4`` seconds it also returns to the queue the claims of
listeners that died (their lease ran out).

``crash()`` (for ``drwlab.faults``) makes a listener die that way on purpose:
see its docstring. The few steps a crash must not split (starting a child
process and taking hold of it, an HTTP request to the store) run inside
``crash_deferred()`` (``drwlab.crashpoints``).

The rule that keeps its view of the queue complete: a query reads at most
BATCH messages, so a full page is never the end of a look. A *scan* starts
with the Inbox taken (what lands from then on is in the Inbox) and reads
page after page until a page comes back short; only then does the Inbox
alone stand for the queue. The messages of a page that it could not handle
yet (waiting out a retry back-off) stay pending ahead of the rest, so the
next page skips exactly that many; handled ones are gone from the list.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drwlab.bus import claims
from drwlab.bus.inbox import Inbox
from drwlab.bus.message import DB, PENDING_INDEX, age_key, envelope_problem, validate_body
from drwlab.bus.watcher import ChangeWatcher
from drwlab.crashpoints import Crashable
from drwlab.errors import DrwlabError, StoreError, StoreUnavailable
from drwlab.outage import StoreOutage
from drwlab.store.base import Doc, Store

logger = logging.getLogger(__name__)

BATCH = 2000
"""Most pending messages read per query (a CouchDB-compatible server's ``_find``
costs about the same for 100 as for all matches, so the list is read once and
worked through)."""
CHUNK_MAX = 100
"""Most messages claimed (and acknowledged) in one write."""
CHUNK_BUDGET = 0.05
"""Seconds of handler time one claimed chunk may hold messages back from competitors."""
OUTAGE_PAUSE = 60.0
"""Longest wait for the bus watcher's all-clear while it finds the store down."""
ERROR_PAUSE = 1.0
"""Pause after an unexpected error (a bug) before the loop carries on."""

Process = Callable[[Doc], object]


@dataclass(frozen=True)
class SendWithAck:
    """What a processing step returns to have ``messages`` sent with its acknowledgement.

    An RPC server's reply: the reply and the request's acknowledgement go in one
    write (one request on a server instead of two, one transaction on SQLite),
    written as soon as the step returns. If the listener dies before that write,
    neither is written: the request goes back to the queue when its lease runs
    out and is answered then, so no reply is sent for a request left undone.
    """

    messages: Sequence[Doc]


class ListenerCrashed(BaseException):
    """Raised inside a handler whose listener was crashed (``Listener.crash``).

    A BaseException, as KeyboardInterrupt is, so that a handler's ``except
    Exception`` does not catch it: the handler stops where it is, as it would
    if its process were killed.
    """


class Listener:
    """Runs ``process(message)`` in a daemon thread for each message on ``selector``.

    Built by ``MessageBus.listen`` and ``MessageBus.serve``; not meant to be made
    directly. ``handled`` counts messages processed successfully, ``failed``
    those whose handler raised.
    """

    def __init__(
        self,
        store: Store,
        watcher: ChangeWatcher,
        selector: str,
        process: Process,
        *,
        name: str,
        lease: float,
        max_attempts: int,
        retry_delay: float,
    ) -> None:
        self.selector = selector
        self.name = name
        self.identity = f"{name}@{socket.gethostname()}:{os.getpid()}"
        self.handled = 0
        self.failed = 0
        self._store = store
        self._watcher = watcher
        self._process = process
        self._lease = lease
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._inbox = Inbox(complete=False)  # what was queued before we started: query
        self._next_lease_check = 0.0
        self._mean_duration: float | None = None
        self._next_retry: float | None = None
        self._scan_skip: int | None = None  # set while a scan of the queue is under way
        self._crashed = threading.Event()
        self._crashable = Crashable(ListenerCrashed)  # the handler's thread, while it runs
        self._owed_done: list[Doc] = []  # acknowledgements an outage kept from being written
        self._owed_back: list[Doc] = []  # and give-backs
        self._owed_out: list[Doc] = []  # and the messages to send with the acknowledgements
        self._thread = threading.Thread(
            target=self._run, name=f"drwlab-listener-{name}", daemon=True
        )

    def __repr__(self) -> str:
        state = "alive" if self.is_alive else "crashed" if self.crashed else "stopped"
        return f"Listener({self.selector!r}, name={self.name!r}, {state}, handled={self.handled})"

    @property
    def is_alive(self) -> bool:
        """True while the listener's thread runs; False from the moment it is crashed
        (its thread may take a moment to end, but it is dead to everyone: it writes
        nothing more)."""
        return self._thread.is_alive() and not self._crashed.is_set()

    def start(self) -> Listener:
        """Start the thread (the bus does this)."""
        self._watcher.subscribe(self._wake, self.selector, self._inbox)
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop taking messages and wait up to ``timeout`` s for the thread to end.

        A handler already running is let finish (its message is then acknowledged);
        the thread is a daemon, so a handler that never returns does not keep
        the process alive. Calling ``stop`` again does nothing more.
        """
        deadline = time.monotonic() + timeout
        self.signal_stop()
        if self._thread is threading.current_thread() or not self._thread.is_alive():
            self._watcher.join(max(0.0, deadline - time.monotonic()))
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning(
                "listener %s: still busy (handler or store call) after %.1f s", self.name, timeout
            )
        self._watcher.join(max(0.0, deadline - time.monotonic()))

    def signal_stop(self) -> None:
        """Ask the thread to end after the current message, without waiting."""
        self._stop.set()
        self._wake.set()

    # -- fault injection ------------------------------------------------------------
    @property
    def crashed(self) -> bool:
        """True once ``crash()`` was called."""
        return self._crashed.is_set()

    def crash(self) -> list[str]:
        """Die as if the process had been killed; return the ids of the messages it held.

        For ``drwlab.faults`` (teaching and tests). From this moment the listener
        writes nothing: no acknowledgement, no give-back, no failure recorded;
        the bus stops renewing its claims, so their lease runs out and another
        listener of the selector takes the messages (with ``LeaseExpired`` in
        their ``errorHistory``). A handler running now is stopped where it is:
        Python cannot kill a thread, so ListenerCrashed is raised inside it
        (at its next Python instruction; a blocking call ends first). The
        handler's ``finally`` blocks still run, unlike in a killed process.
        """
        self._crashed.set()
        self.signal_stop()
        held = self._watcher.abandon(self.identity)
        self._crashable.crash()  # inside crash_deferred(), the section's end raises it
        logger.info(
            "listener %s: crashed on purpose (fault injection) holding %d message(s)",
            self.name,
            len(held),
        )
        return held

    # -- the loop -----------------------------------------------------------------
    def _run(self) -> None:
        look = True
        outage = StoreOutage(logger, f"listener {self.name}")
        try:
            while not self._stop.is_set():
                self._watcher.rearm(self._wake)
                failed = True
                try:
                    delay = self._work(look)
                    failed = False
                    outage.recovered()
                except StoreError as error:
                    delay = outage.failed(error)
                    if self._watcher.store_down:
                        # one probe per bus: the watcher wakes us when the store is back
                        delay = OUTAGE_PAUSE
                except Exception:  # a bug or a malformed document must not end the listener
                    logger.exception("listener %s: unexpected error; carrying on", self.name)
                    delay = ERROR_PAUSE
                if failed:
                    self._inbox.lose()  # what it held may not have been worked through
                    self._scan_skip = None  # and a scan starts again from the oldest
                # look at the queue if woken by a change, told to, or after a failure;
                # if only a timer ran out, _work decides whether it needs to
                look = delay <= 0 or self._wake.wait(delay) or failed
        except ListenerCrashed:
            pass  # crash(): the thread ends here, writing nothing more
        finally:
            self._watcher.unsubscribe(self._wake)

    def _work(self, look: bool) -> float:
        """Handle what is available; return how long to sleep (0: look again at once).

        ``look`` False means only a timer is due: the lease check, or the end of
        a retry back-off; the queue is read only if there is a reason to.
        """
        self._write_owed()  # what an outage kept from being written, first
        now = time.time()
        if now >= self._next_lease_check:
            recovered = claims.recover_expired(  # what it returns wakes us as a change
                self._store,
                self.selector,
                skip=self._watcher.held_ids(),
                max_attempts=self._max_attempts,
                limit=BATCH,
            )
            # a full page of expired claims may hide more: check again on the next turn
            self._next_lease_check = now if recovered.full_page else now + self._lease / 4
        retry_due = self._next_retry is not None and now >= self._next_retry
        scanning = self._scan_skip is not None
        if not look and not scanning and not retry_due and not self._inbox.has_news():
            # (a wake-up landing between the timer and our rearm is cleared by the
            # rearm, but what it brought is in the Inbox: that is what is asked)
            return self._until_next_timer()
        if retry_due:
            self._inbox.lose()  # the message to retry left the Inbox when it was put off
        # take the Inbox before querying: what lands meanwhile is in the query or the next take
        seen = self._inbox.take()
        if seen is None and self._scan_skip is None:
            self._scan_skip = 0  # a new scan, from the oldest pending message
            self._next_retry = None  # the scan will find every back-off still running
        docs = seen or []
        if self._scan_skip is not None:
            docs = _merged(self._read_page(self._scan_skip), docs)
        docs = self._reject_malformed(docs)
        now = time.time()
        ready = [doc for doc in sorted(docs, key=age_key) if _not_before(doc) <= now]
        waiting = [_not_before(doc) for doc in docs if _not_before(doc) > now]
        if self._next_retry is not None:
            waiting.append(self._next_retry)  # one noted earlier is still due
        self._next_retry = min(waiting) if waiting else None
        self._claim_and_handle(ready)
        if self._scan_skip is not None:
            return 0.0  # the scan goes on: there may be more than one page holds
        # anything that arrived meanwhile has set the wake-up Event: no need to look now
        return self._until_next_timer()

    def _read_page(self, skip: int) -> list[Doc]:
        """The scan's page after ``skip`` pending messages; a short page ends the scan.

        The next page starts after the messages of this one that stay pending
        (waiting out a retry); the others are handled or dead-lettered now, and
        leave the list.
        """
        page = self._store.find(
            DB,
            {"selector": self.selector, "consumed": False},
            sort=[{field: "asc"} for field in PENDING_INDEX],
            limit=BATCH,
            skip=skip,
        )
        if len(page) < BATCH:
            self._scan_skip = None
        else:
            now = time.time()
            staying = [doc for doc in page if _not_before(doc) > now and not envelope_problem(doc)]
            self._scan_skip = skip + len(staying)
        return page

    def _reject_malformed(self, docs: list[Doc]) -> list[Doc]:
        """``docs`` without those whose bookkeeping is malformed, which are dead-lettered."""
        kept = []
        for doc in docs:
            why = envelope_problem(doc)
            if why is None:
                kept.append(doc)
            elif claims.reject(self._store, doc, why):
                logger.warning(
                    "listener %s: message %s dead-lettered: %s", self.name, doc["_id"], why
                )
        return kept

    def _until_next_timer(self) -> float:
        """Seconds until the lease check or the end of a retry back-off, whichever is first."""
        due = self._next_lease_check
        if self._next_retry is not None:
            due = min(due, self._next_retry)
        return max(0.001, due - time.time())

    def _claim_and_handle(self, ready: list[Doc]) -> None:
        """Claim ``ready`` messages chunk by chunk, oldest first, and handle them.

        A chunk lost whole to a competitor means others work the same list: from
        then on chunks are taken in random order so the listeners spread out
        instead of trailing one another through conflicts.
        """
        competing = False
        while ready and not self._stop.is_set():
            size = self._chunk_size()
            start = random.randrange(0, len(ready), size) if competing else 0
            chunk = ready[start : start + size]
            del ready[start : start + size]
            with self._store.announced_later():  # a claim gives nobody work
                won = claims.claim(self._store, chunk, self.identity, self._lease)
            self._watcher.quiet(won)
            for doc in won:  # a copy offered before or after is older than our claim: not work
                self._inbox.drop(doc)
            competing = competing or not won
            self._handle_all(won)

    def _chunk_size(self) -> int:
        """How many messages to claim at once: one, unless handlers prove quick.

        Claiming (and acknowledging) several in one write saves a round trip per
        message on a server; it is kept to about CHUNK_BUDGET s of handler time so a
        competing listener is never kept waiting on messages this one sits on.
        """
        if self._mean_duration is None:
            return 1
        return max(1, min(CHUNK_MAX, int(CHUNK_BUDGET / max(self._mean_duration, 1e-4))))

    def _handle_all(self, won: list[Doc]) -> None:
        """Run the handler on each claimed message in turn; acknowledge them together."""
        for doc in won:
            self._watcher.hold(doc)
        handled: list[str] = []
        started = 0
        running: str | None = None
        try:
            for doc in won:
                if self._stop.is_set():
                    break
                started += 1
                running = doc["_id"]
                error = self._call(doc)
                running = None
                if isinstance(error, StoreUnavailable):
                    # the store went away under the handler, not the message's fault:
                    # it goes back to the queue unspent, and the loop backs off
                    started -= 1
                    raise error
                if error is None:
                    handled.append(doc["_id"])
                    if self._owed_out:  # a reply waits for its acknowledgement: write both now
                        self._owed_done += [self._watcher.release(done) for done in handled]
                        handled = []
                        self._write_owed()
                else:
                    self._fail(self._watcher.release(doc["_id"]), error)
        finally:
            if not self._crashed.is_set():  # crashed: no acknowledgement, no give-back
                self._settle(won, handled, started, running)

    def _settle(
        self, won: list[Doc], handled: list[str], started: int, running: str | None
    ) -> None:
        """Acknowledge the ``handled`` of ``won``, give back those never ``started``."""
        self._owed_done += [self._watcher.release(doc_id) for doc_id in handled]
        self._owed_back += [self._watcher.release(doc["_id"]) for doc in won[started:]]
        if running is not None:  # a BaseException: leave its claim to expire
            self._watcher.release(running)
        self._write_owed()

    def _write_owed(self) -> None:
        """Write the acknowledgements and give-backs owed.

        If the store is down they stay owed, and the loop writes them first
        thing once it answers again: a message handled during an outage is not
        handled twice, and one given back does not wait out its lease.
        """
        if self._crashed.is_set():
            return  # crash(): nothing more is written, as by a killed process
        if self._owed_done or self._owed_out:
            with self._store.announced_later():  # routed below, or nobody's work
                written = claims.acknowledge(
                    self._store, self._owed_done, self.identity, send=self._owed_out
                )
            self._watcher.quiet(written.done)
            self._watcher.landed(written.sent)  # a caller in this process need not wait
            self._owed_done = []
            self._owed_out = []
        if self._owed_back:
            claims.give_back(self._store, self._owed_back)
            self._owed_back = []

    def _call(self, doc: Doc) -> Exception | None:
        """Run the handler on ``doc``: None if it returned, else what it raised."""
        began = time.monotonic()
        try:
            validate_body(doc.get("body"))  # a raw document may exceed what send allows
            with self._crashable.armed():  # inside, crash() stops the handler itself
                outcome = self._process(doc)
        except Exception as error:
            self.failed += 1
            return error
        finally:
            duration = time.monotonic() - began
            mean = self._mean_duration
            self._mean_duration = duration if mean is None else 0.8 * mean + 0.2 * duration
        if isinstance(outcome, SendWithAck):
            self._owed_out += outcome.messages
        self.handled += 1
        return None

    def _fail(self, doc: Doc, error: Exception) -> None:
        dead = claims.fail(
            self._store,
            doc,
            error,
            max_attempts=self._max_attempts,
            retry_delay=self._retry_delay,
        )
        logger.warning(
            "listener %s: handler failed on message %s (attempt %s of %d, %s): %s: %s",
            self.name,
            doc["_id"],
            doc.get("attempts"),
            self._max_attempts,
            "dead-lettered" if dead else "will be retried",
            type(error).__name__,
            error,
            exc_info=None if isinstance(error, DrwlabError) else error,
        )


def _merged(page: list[Doc], seen: list[Doc]) -> list[Doc]:
    """The messages of a queried ``page`` and those the Inbox ``seen``, each once."""
    by_id = {doc["_id"]: doc for doc in seen}
    by_id.update((doc["_id"], doc) for doc in page)
    return list(by_id.values())


def _not_before(doc: Doc) -> float:
    return float(doc.get("notBefore") or 0.0)
