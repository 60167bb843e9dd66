"""A loop's place in one database's change feed: look at the data, then wait for news.

The actors that watch the status entities (data tracker, AQUA's autopilot, the
product ingestor, the dashboard) all run the same loop: note where the feed
is, look at the data, wait for a change after the noted place. Noting the
place costs a request on a server; the wait's own answer already says where
the feed got to, so the cursor keeps that instead of asking again::

    cursor = ChangeCursor(store, "status-entities")
    while running:
        cursor.mark()       # before looking: nothing that lands meanwhile is missed
        look_at_the_data()
        cursor.wait(5.0)

After a wait that saw nothing, the place is asked afresh at the next
``mark``: cheap when nothing happens, and right again if the database was
deleted and made anew meanwhile (its feed then starts over). A follower that
must read nothing while nothing happens (``views.follow``) passes
``recheck_when_idle=False`` and keeps its place across quiet waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from drwlab.store.base import Doc, Seq, Store

PAGE = 1000
"""Most changes read per wait (they are not looked at, only where they end)."""


class ChangeCursor:
    """A place in the change feed of ``db``; see the module docstring."""

    def __init__(self, store: Store, db: str, *, recheck_when_idle: bool = True) -> None:
        self._store = store
        self._db = db
        self._seq: Seq | None = None
        self._recheck = recheck_when_idle

    def mark(self) -> Seq:
        """Note where the feed is, unless the last wait already told; the place."""
        if self._seq is None:
            self._seq = self._store.current_seq(self._db)
        return self._seq

    def wait(self, timeout: float) -> bool:
        """Block until the database changes after the mark, or ``timeout`` s pass.

        True if it changed (the mark then moves past the changes), False otherwise.
        """
        page = self._store.wait_for_changes(self._db, self.mark(), timeout, PAGE)
        if page is None or not page.changes:
            if self._recheck:
                self._seq = None
            return False
        self._seq = page.last_seq
        return True

    def changed_docs(self, timeout: float) -> dict[str, Doc | None]:
        """``wait``, returning the documents that changed, by id (empty: none within
        ``timeout``); None for a document deleted (a reset), which a loop holding
        it must let go.

        For a loop that reacts to what changed instead of querying after every
        change: the documents come with the feed (one request on a server). A
        page holds at most PAGE changes, the rest come with the next call.
        """
        page = self._store.wait_for_changes(self._db, self.mark(), timeout, PAGE, include_docs=True)
        if page is None or not page.changes:
            if self._recheck:
                self._seq = None
            return {}
        self._seq = page.last_seq
        return {
            change.id: None if change.deleted else change.doc
            for change in page.changes
            if change.deleted or change.doc is not None
        }


class FeedCandidates:
    """The documents of ``db`` a loop is to act on: queried once, then kept from the feed.

    For a loop that would otherwise query after every change (the data tracker,
    AQUA's autopilot): ``current()`` queries the first time (and after
    ``forget()``), ``follow(timeout)`` waits for changes and keeps the documents
    ``wanted`` says yes to, dropping the others and those deleted (a reset). The
    loop drops from ``current()`` what it is done with, and calls ``forget()``
    when something went wrong mid-way, so that the next ``current()`` queries.
    """

    def __init__(
        self,
        store: Store,
        db: str,
        query: Callable[[], Iterable[Doc]],
        wanted: Callable[[Doc], bool],
    ) -> None:
        # keeps its place while nothing happens: every change reaches ``follow``
        self._feed = ChangeCursor(store, db, recheck_when_idle=False)
        self._query, self._wanted = query, wanted
        self._docs: dict[str, Doc] | None = None

    def current(self) -> dict[str, Doc]:
        """The candidates by id, queried if not known (the caller may drop some)."""
        if self._docs is None:
            self._feed.mark()  # before the query: what changes after it comes on the feed
            self._docs = {doc["_id"]: doc for doc in self._query() if self._wanted(doc)}
        return self._docs

    def follow(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for changes and bring the candidates up to date."""
        docs = self.current()
        for doc_id, doc in self._feed.changed_docs(timeout).items():
            if doc is not None and self._wanted(doc):
                docs[doc_id] = doc
            else:  # moved on, or deleted
                docs.pop(doc_id, None)

    def forget(self) -> None:
        """What is known may be incomplete: query again at the next ``current()``."""
        self._docs = None
