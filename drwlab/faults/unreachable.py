"""The store goes away: a Store wrapper that answers StoreUnavailable while switched off.

Wrap any store (the embedded SQLite one too, which cannot really go down) and
hand the wrapper to whatever should see the outage, a Sandbox for instance::

    store = UnreachableStore(open_store(url))
    sandbox = Sandbox(store=store)
    store.outage(5)            # every call raises StoreUnavailable for 5 s

While it is off, every call (feeds being followed included, within their
heartbeat) raises ``StoreUnavailable``, as a CouchDB server that stopped
answering does; the loops of drwlab warn once each, back off and recover
(``drwlab/outage.py``). ``refused`` counts the calls turned away, and
``refused_by_thread`` which loop made them: the retries an outage cost.
When an outage ends its ``outage`` fault event is recorded in the store.
Nothing changes while it is on: the wrapper is never active unless asked.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from drwlab.errors import StoreUnavailable
from drwlab.faults.events import OUTAGE, record_fault
from drwlab.store.base import BulkResult, ChangesPage, Doc, Seq, SortSpec, Store
from drwlab.timeutil import timestamp


class UnreachableStore(Store):
    """``store``, but unreachable while an outage is on; see the module docstring.

    The wrapper does not close the store it wraps unless ``close()`` is called.
    """

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.url = store.url
        self.refused = 0
        """Store calls refused during outages so far."""
        self.refused_by_thread: Counter[str] = Counter()
        """``refused`` by the name of the thread that made the call."""
        self._lock = threading.Lock()
        self._until: float | None = None  # monotonic end of the outage on, or None
        self._began: str | None = None
        self._began_refused = 0
        self._seconds = 0.0

    # -- the switch -----------------------------------------------------------------
    def outage(self, seconds: float) -> None:
        """Be unreachable from now for ``seconds`` (an outage on is extended or cut to it)."""
        if not seconds > 0:
            raise ValueError(f"an outage lasts some seconds (> 0), not {seconds!r}")
        with self._lock:
            if self._until is None:
                self._began = timestamp()
                self._began_refused = self.refused
            self._until = time.monotonic() + seconds
            self._seconds = seconds

    def restore(self) -> None:
        """End the outage now (if one is on)."""
        with self._lock:
            if self._until is not None:
                self._until = time.monotonic()
        self._check()

    @property
    def down(self) -> bool:
        """True while an outage is on."""
        with self._lock:
            return self._until is not None and time.monotonic() < self._until

    def wait_until_up(self, timeout: float | None = None) -> bool:
        """Wait for the outage on (if any) to end; False if still down after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                until = self._until
            now = time.monotonic()
            if until is None or now >= until:
                self._check()
                return True
            if deadline is not None and now >= deadline:
                return False
            wake = until if deadline is None else min(until, deadline)
            time.sleep(max(0.0, wake - now))

    def _check(self) -> None:
        """Raise StoreUnavailable during an outage; record one that just ended."""
        ended: dict[str, Any] | None = None
        with self._lock:
            if self._until is None:
                return
            if time.monotonic() < self._until:
                self.refused += 1
                self.refused_by_thread[threading.current_thread().name] += 1
                raise StoreUnavailable(
                    f"{self.url}: unreachable (an outage injected by drwlab.faults, "
                    f"{self._until - time.monotonic():.1f} s to go)"
                )
            ended = {
                "began": self._began,
                "ended": timestamp(),
                "seconds": self._seconds,
                "refused": self.refused - self._began_refused,
            }
            self._until = None
        record_fault(self.inner, OUTAGE, **ended)

    # -- the Store contract, each call through the switch ---------------------------
    def create_db(self, db: str) -> None:
        self._check()
        self.inner.create_db(db)

    def drop_db(self, db: str) -> None:
        self._check()
        self.inner.drop_db(db)

    def db_names(self) -> list[str]:
        self._check()
        return self.inner.db_names()

    def get(self, db: str, doc_id: str) -> Doc:
        self._check()
        return self.inner.get(db, doc_id)

    def get_many(self, db: str, doc_ids: Sequence[str]) -> dict[str, Doc]:
        self._check()
        return self.inner.get_many(db, doc_ids)

    def put(self, db: str, doc: Mapping[str, Any]) -> Doc:
        self._check()
        return self.inner.put(db, doc)

    def delete(self, db: str, doc_id: str, rev: str) -> None:
        self._check()
        self.inner.delete(db, doc_id, rev)

    def bulk_put(self, db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        self._check()
        return self.inner.bulk_put(db, docs)

    def all_docs(self, db: str) -> list[Doc]:
        self._check()
        return self.inner.all_docs(db)

    def find(
        self,
        db: str,
        selector: Mapping[str, Any],
        *,
        sort: SortSpec | None = None,
        limit: int | None = None,
        skip: int = 0,
        fields: Sequence[str] | None = None,
    ) -> list[Doc]:
        self._check()
        return self.inner.find(db, selector, sort=sort, limit=limit, skip=skip, fields=fields)

    def count(self, db: str, selector: Mapping[str, Any]) -> int:
        self._check()
        return self.inner.count(db, selector)

    def ensure_index(self, db: str, fields: Sequence[str]) -> None:
        self._check()
        self.inner.ensure_index(db, fields)

    def current_seq(self, db: str) -> Seq:
        self._check()
        return self.inner.current_seq(db)

    def changes(
        self,
        db: str,
        since: Seq | None = None,
        limit: int | None = None,
        *,
        include_docs: bool = False,
    ) -> ChangesPage:
        self._check()
        return self.inner.changes(db, since, limit, include_docs=include_docs)

    def wait_for_change(self, db: str, since: Seq, timeout: float) -> bool:
        self._check()
        changed = self.inner.wait_for_change(db, since, timeout)
        self._check()  # the store went away during the wait: the answer never came
        return changed

    def wait_for_changes(
        self, db: str, since: Seq, timeout: float, limit: int, *, include_docs: bool = False
    ) -> ChangesPage | None:
        self._check()
        page = self.inner.wait_for_changes(db, since, timeout, limit, include_docs=include_docs)
        self._check()
        return page

    def follow_changes(
        self, db: str, since: Seq, *, heartbeat: float, limit: int, include_docs: bool = False
    ) -> Iterator[ChangesPage | None]:
        self._check()
        feed = self.inner.follow_changes(
            db, since, heartbeat=heartbeat, limit=limit, include_docs=include_docs
        )
        try:
            for page in feed:
                self._check()  # a feed open when the store went away breaks off
                yield page
        finally:
            close = getattr(feed, "close", None)
            if close is not None:
                close()

    def announced_later(self) -> AbstractContextManager[None]:
        return self.inner.announced_later()

    def close(self) -> None:
        """Close the wrapped store."""
        self.inner.close()

    def __repr__(self) -> str:
        return f"UnreachableStore({self.inner!r}{', down' if self.down else ''})"
