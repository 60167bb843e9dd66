"""Following the store's change feed from threads: the one way views learn that data moved.

A :class:`Follower` calls ``on_change(changed)`` in a daemon thread: once at
start with every watched database, then after each change with the databases
that changed. Behind it, one thread per database follows that database's
change feed (``Store.follow_changes``: on a server one open continuous feed,
with a newline from the server every heartbeat), so a change is noticed at
once and, while nothing changes, nothing is read and no request is made: an
idle notebook or dashboard costs a server nothing but its open feeds.
A burst of writes makes one call; two calls are at least ``rest`` seconds
apart, and after a call that took longer the follower rests as long as it
took, so a busy store never keeps more than half a core rendering.

A database that does not exist yet (``fault-events`` before the first fault)
has no feed to follow: its thread looks for it once a heartbeat, and reports
it changed once it appears.

The dashboard and the notebook widgets use it; the bus has its own watcher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from drwlab.errors import NotFound, StoreError
from drwlab.outage import StoreOutage
from drwlab.store.base import ChangesPage, Seq, Store

log = logging.getLogger(__name__)

HEARTBEAT = 0.5
"""Longest single wait on a feed: bounds how late a stop (or a dead source) is noticed."""
REST = 0.2
"""Least time between two calls of ``on_change``."""
PAGE = 1000
"""Most changes one page of a feed brings (they are only counted as "changed")."""
_ENDED = object()
"""What ``next`` gives for a feed that ended (the server closed it)."""

OnChange = Callable[[frozenset[str]], None]


class Follower:
    """Calls ``on_change(changed databases)`` in a thread whenever ``databases`` change.

    Parameters
    ----------
    store:
        Where to follow the change feeds.
    databases:
        The databases followed.
    on_change:
        Called in the follower's thread, first with every database, then with
        those that changed. An exception it raises is logged (once per
        distinct message) and the follower carries on.
    alive:
        Looked at after each wait on a feed: once it returns False the follower
        ends by itself (a Sandbox's ``running``), then calls ``on_exit``.
    wanted:
        While given and not set, the feeds are not waited on (nobody looks);
        the places in the feeds are kept, so the first wait after it is set
        reports whatever changed meanwhile.
    """

    def __init__(
        self,
        store: Store,
        databases: Sequence[str],
        on_change: OnChange,
        *,
        name: str = "drwlab-follower",
        rest: float = REST,
        heartbeat: float = HEARTBEAT,
        alive: Callable[[], bool] | None = None,
        on_exit: Callable[[], None] | None = None,
        wanted: threading.Event | None = None,
    ) -> None:
        if not databases:
            raise ValueError("a follower needs at least one database to follow")
        if rest < 0 or heartbeat <= 0:
            raise ValueError(f"need rest >= 0 and heartbeat > 0, not {rest!r}, {heartbeat!r}")
        self.store = store
        self.databases = tuple(dict.fromkeys(databases))
        self.name = name
        self.calls = 0
        self.last_error: str | None = None
        self._on_change, self._alive, self._on_exit = on_change, alive, on_exit
        self._rest, self._heartbeat, self._wanted = rest, heartbeat, wanted
        self._stop = threading.Event()
        self._news = threading.Event()
        self._lock = threading.Lock()
        self._changed: set[str] = set(self.databases)
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"Follower({self.name!r}, {list(self.databases)}, calls={self.calls})"

    @property
    def running(self) -> bool:
        """True between start() and stop() (or the end of its source)."""
        return bool(self._threads) and not self._stop.is_set()

    @property
    def finished(self) -> bool:
        """True once every thread has ended (or none was started)."""
        return not any(thread.is_alive() for thread in self._threads)

    def start(self) -> Follower:
        """Note each feed's place, then start the threads (once); returns self.

        The places are read before the first call, so a write landing during
        it is reported by the next one.
        """
        if self._threads or self._stop.is_set():
            return self
        places = {db: self._place(db) for db in self.databases}  # None: not there yet
        targets: list[tuple[str, Callable[..., None], tuple[object, ...]]] = [
            ("call", self._call_loop, ())
        ]
        targets += [(f"watch-{db}", self._watch, (db, places[db])) for db in self.databases]
        self._news.set()  # the first call, with every database
        for suffix, target, args in targets:
            thread = threading.Thread(
                target=target, args=args, name=f"{self.name}-{suffix}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop following and wait for the threads (at most ``timeout`` s); idempotent."""
        self._stop.set()
        self._news.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _ended_by_source(self) -> bool:
        if self._stop.is_set():
            return True
        if self._alive is not None and not self._alive():
            log.info("%s: its source stopped; follower ends", self.name)
            self._stop.set()
            self._news.set()
            return True
        return False

    def _place(self, db: str) -> Seq | None:
        """Where ``db``'s feed is now; None if there is no such database (yet)."""
        try:
            return self.store.current_seq(db)
        except NotFound:
            return None

    def _watch(self, db: str, since: Seq | None) -> None:
        """Follow ``db``'s feed from ``since`` until the follower ends, noting each change."""
        outage = StoreOutage(log, f"{self.name} following {db}")
        feed: Iterator[ChangesPage | None] | None = None
        try:
            while not self._ended_by_source():
                if self._wanted is not None and not self._wanted.is_set():
                    _close(feed)  # nobody looks: let the feed go, keep the place
                    feed = None
                    self._wanted.wait(self._heartbeat)
                    continue
                try:
                    if since is None:  # not there (yet): look again in a heartbeat
                        since = self._place(db)
                        if since is None:
                            self._stop.wait(self._heartbeat)
                            continue
                        self._note(db)  # it appeared
                    if feed is None:
                        feed = self.store.follow_changes(
                            db, since, heartbeat=self._heartbeat, limit=PAGE
                        )
                    page = next(feed, _ENDED)
                    outage.recovered()
                except NotFound:  # dropped: follow it again once it is back
                    _close(feed)
                    feed = since = None
                    continue
                except StoreError as error:
                    _close(feed)
                    feed = None
                    if not self._ended_by_source():
                        self._stop.wait(outage.failed(error))
                    continue
                if page is _ENDED:
                    feed = None  # the server closed it: follow again from ``since``
                    continue
                if not isinstance(page, ChangesPage):
                    continue  # a heartbeat: time to look whether to stop
                since = page.last_seq
                if page.changes:
                    self._note(db)
        finally:
            _close(feed)

    def _note(self, db: str) -> None:
        with self._lock:
            self._changed.add(db)
        self._news.set()

    def _call_loop(self) -> None:
        while True:
            self._news.wait()
            if self._stop.is_set():
                break
            self._news.clear()
            with self._lock:
                changed, self._changed = frozenset(self._changed), set()
            started = time.monotonic()
            self._call(changed)
            self._stop.wait(max(self._rest, time.monotonic() - started))
        if self._on_exit is not None:
            self._on_exit()

    def _call(self, changed: frozenset[str]) -> None:
        try:
            self._on_change(changed)
            self.calls += 1
            self.last_error = None
        except Exception as error:  # a background thread: report, never die silently
            with self._lock:
                self._changed |= changed  # tried again with the next change
            if self._alive is None or self._alive():
                if str(error) != self.last_error:
                    log.warning("%s: on_change failed: %s", self.name, error)
                self.last_error = str(error)


def _close(feed: Iterator[ChangesPage | None] | None) -> None:
    """Close ``feed`` (its open request, on a server) if there is one."""
    close = getattr(feed, "close", None)
    if close is not None:
        close()
