"""The Store contract: named databases of JSON documents, with revisions and a change feed.

Every backend (``sqlite.py``, ``couchdb.py``) implements exactly this, and the
same contract test suite (``tests/store/``) runs against each. The bus and the
actors are written against this class only, never against a backend.

Documents are plain ``dict``s of JSON values with CouchDB's bookkeeping
fields: ``_id`` (string) and ``_rev`` (opaque string, ``"N-hash"``). A write
must carry the current ``_rev`` of the document (none for a new one); anything
else raises :class:`~drwlab.errors.Conflict`. That is what makes "claim by
revision" on the message bus safe: of two writers holding the same revision,
exactly one wins.

Sequences (``Seq``) are opaque: an ``int`` for SQLite, a string for CouchDB.
Only pass back what a backend gave you.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeAlias

from drwlab.wire import DATABASES as DATABASES  # re-exported: Store.ensure_databases creates them

Doc = dict[str, Any]
Seq: TypeAlias = int | str
SortSpec: TypeAlias = Sequence[str | Mapping[str, str]]
"""Mango sort: ``["creationTimestamp"]`` or ``[{"creationTimestamp": "desc"}]``."""


def rev_generation(rev: object) -> int | None:
    """How many times a document was written, from its revision ``"N-hash"``; None if
    ``rev`` is not one. Revisions of one document are ordered by it on both stores."""
    try:
        return int(str(rev).split("-", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class Change:
    """One entry of a change feed: a document id written (or deleted) at ``seq``.

    ``doc`` is the document as the feed read it, when asked for
    (``include_docs``) and the document is not deleted. A feed may read it
    after a later write (CouchDB fetches it by id), so its ``_rev`` can be
    later than ``rev``; a reader checks that before trusting it.
    """

    id: str
    rev: str
    seq: Seq
    deleted: bool = False
    doc: Doc | None = None


@dataclass(frozen=True)
class ChangesPage:
    """Changes after some ``since``, oldest first, and the seq to pass next time."""

    changes: list[Change]
    last_seq: Seq


@dataclass(frozen=True)
class BulkResult:
    """Outcome of one document in ``bulk_put``: a new ``rev`` or an ``error``."""

    id: str
    rev: str | None = None
    error: str | None = None


class Store(ABC):
    """Named databases of JSON documents; see the module docstring for the rules.

    Implementations are safe to share between threads. Methods raise
    ``StoreUnavailable`` when the database cannot be reached, ``NotFound`` for
    a missing database or document, ``Conflict`` for a stale revision and
    ``InvalidQuery`` for a selector outside the supported Mango subset.
    """

    #: The store's URL with any password replaced by ``***``: safe to log and show.
    url: str

    # -- databases ---------------------------------------------------------
    @abstractmethod
    def create_db(self, db: str) -> None:
        """Create database ``db`` if it does not exist (idempotent)."""

    @abstractmethod
    def drop_db(self, db: str) -> None:
        """Delete database ``db`` and all its documents if it exists (idempotent)."""

    @abstractmethod
    def db_names(self) -> list[str]:
        """Names of the existing databases, sorted."""

    # -- documents ---------------------------------------------------------
    @abstractmethod
    def get(self, db: str, doc_id: str) -> Doc:
        """The current document ``doc_id``; NotFound if absent or deleted."""

    @abstractmethod
    def get_many(self, db: str, doc_ids: Sequence[str]) -> dict[str, Doc]:
        """The current documents of ``doc_ids`` that exist, by id (missing and deleted
        ones left out); NotFound for a missing database.

        One request on a server, where ``get`` per document is one each.
        """

    @abstractmethod
    def put(self, db: str, doc: Mapping[str, Any]) -> Doc:
        """Write ``doc`` and return a copy with its ``_id`` and new ``_rev``.

        Without ``_id`` a fresh unique id is chosen. A new document must not
        carry ``_rev``; an existing one must carry its current ``_rev``.
        Otherwise Conflict. The caller's mapping is not modified.
        """

    @abstractmethod
    def delete(self, db: str, doc_id: str, rev: str) -> None:
        """Delete ``doc_id`` at revision ``rev``.

        Conflict if ``rev`` is stale (an already deleted document included, as
        CouchDB answers 409 there); NotFound if the document never existed.
        """

    @abstractmethod
    def bulk_put(self, db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        """Write many documents; each succeeds or fails (conflict) on its own."""

    @abstractmethod
    def all_docs(self, db: str) -> list[Doc]:
        """Every live document of ``db``, ordered by ``_id``."""

    @abstractmethod
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
        """Documents matching a Mango ``selector`` (``limit=None``: all of them).

        Supported operators: ``$eq $ne $gt $gte $lt $lte $in $regex $exists
        $and $or``; a bare value means ``$eq``; dotted field names reach into
        nested objects. ``sort`` is a Mango sort list (ascending by default);
        ``fields`` keeps only the named top-level fields (``_id``/``_rev``
        only if named).
        """

    def count(self, db: str, selector: Mapping[str, Any]) -> int:
        """How many documents match ``selector``."""
        return len(self.find(db, selector, fields=["_id"]))

    @abstractmethod
    def ensure_index(self, db: str, fields: Sequence[str]) -> None:
        """Make queries on ``fields`` (equality first, then range/sort) fast; idempotent."""

    # -- change feed -------------------------------------------------------
    @abstractmethod
    def current_seq(self, db: str) -> Seq:
        """The seq of the latest change of ``db`` (pass it to changes/wait later)."""

    @abstractmethod
    def changes(
        self,
        db: str,
        since: Seq | None = None,
        limit: int | None = None,
        *,
        include_docs: bool = False,
    ) -> ChangesPage:
        """Changes of ``db`` after ``since`` (None: from the beginning), oldest first.

        ``include_docs``: each change carries its document (``Change.doc``), so
        a reader learns what changed without a request per document.
        """

    @abstractmethod
    def wait_for_change(self, db: str, since: Seq, timeout: float) -> bool:
        """Block until ``db`` changes after ``since`` or ``timeout`` seconds pass.

        Returns True if there is a change after ``since`` (possibly at once),
        False on timeout. Never sleeps longer than ``timeout`` (plus a little).
        """

    def wait_for_changes(
        self, db: str, since: Seq, timeout: float, limit: int, *, include_docs: bool = False
    ) -> ChangesPage | None:
        """``wait_for_change``, then the page of changes after ``since`` (None on timeout).

        The page may be empty with ``last_seq`` unmoved when the feed signalled a
        change it does not list yet. A backend that can wait and list in one
        request (CouchDB's long-poll answers with the changes) overrides this.
        """
        if not self.wait_for_change(db, since, timeout):
            return None
        return self.changes(db, since=since, limit=limit, include_docs=include_docs)

    def follow_changes(
        self, db: str, since: Seq, *, heartbeat: float, limit: int, include_docs: bool = False
    ) -> Iterator[ChangesPage | None]:
        """Follow the change feed of ``db`` after ``since``, for as long as it is read.

        Yields each batch of changes (at most ``limit``) as it happens, and None
        whenever ``heartbeat`` seconds pass without one, so that a reader
        blocked here can look up now and then (to stop, say). Close the
        iterator when done. It may also end by itself (the server closed the
        feed): follow again from the last seq seen. A backend that can stream
        its feed over one open connection (CouchDB's continuous feed) overrides
        this; the default waits for each batch in turn.
        """
        while True:
            page = self.wait_for_changes(db, since, heartbeat, limit, include_docs=include_docs)
            if page is None:
                yield None
            else:
                since = page.last_seq
                yield page

    def announced_later(self) -> AbstractContextManager[None]:
        """Writes this thread makes inside need not wake this process's change followers now.

        For a writer that tells its own process's followers itself: the bus routes
        the messages it sends to its listeners, and knows that its claims and
        acknowledgements give nobody work. Waking the followers at once would only
        take the interpreter from the thread that must run next (on SQLite a third
        of a bus hop). A backend may announce such writes a little later instead
        (SQLite: at the next look for other processes' writes, within 5 ms); they
        are in the change feed either way. By default they are announced at once.
        """
        return nullcontext()

    # -- lifetime ----------------------------------------------------------
    def ensure_databases(self, names: Sequence[str] = DATABASES) -> None:
        """Create the original system's databases (idempotent)."""
        for name in names:
            self.create_db(name)

    def close(self) -> None:  # noqa: B027 - a backend without connections has nothing to do
        """Release connections; the store must not be used afterwards."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
