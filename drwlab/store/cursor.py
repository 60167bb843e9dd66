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
