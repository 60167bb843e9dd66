"""The embedded backend: the Store contract on one SQLite file.

Many threads share a store (a pool of connections, writes serialised by a
lock) and several processes on one host share the file (WAL mode, a busy
timeout, every write in one ``BEGIN IMMEDIATE`` transaction). A write checks
the document's revision inside that transaction, so of two writers holding
the same revision exactly one wins, whichever thread or process they run in.

Tables: ``dbs`` (names), ``docs`` (one row per document: db, id, rev,
deleted, the JSON body and ``seq``, renewed by every write from a global
AUTOINCREMENT counter, so a database's change feed is its rows ordered by
``seq``; deletions stay as tombstones) and ``indexes`` (what ``ensure_index``
made). ``find`` is translated by :mod:`drwlab.store.sqlite_query`: equalities
and the sort go to SQL (and to the indexes), the Python matcher of
:mod:`drwlab.store.mango` checks the rest.

Connections, write transactions and change signals (a waiter wakes at once
on a write of its own process, within milliseconds on another process's)
are :mod:`drwlab.store.sqlite_conn`'s job.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from drwlab.errors import Conflict, InvalidQuery, NotFound, StoreUnavailable
from drwlab.store import mango
from drwlab.store import sqlite_query as query
from drwlab.store.base import (
    BulkResult,
    Change,
    ChangesPage,
    Doc,
    Seq,
    SortSpec,
    Store,
    rev_generation,
)
from drwlab.store.sqlite_conn import SharedFile

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dbs (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    db TEXT NOT NULL,
    id TEXT NOT NULL,
    rev TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS docs_by_id ON docs (db, id);
CREATE INDEX IF NOT EXISTS docs_by_seq ON docs (db, seq);
CREATE TABLE IF NOT EXISTS indexes (name TEXT PRIMARY KEY, db TEXT NOT NULL, fields TEXT NOT NULL);
"""
_DB_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]*")
_SPECIAL_MEMBERS = ("_id", "_rev", "_deleted")
_IDS_PER_QUERY = 500
"""Ids per ``IN (...)`` of ``get_many``: under SQLite's limit on parameters of old builds."""


def _as_seq(since: Seq | None) -> int:
    try:
        return 0 if since is None else int(since)
    except ValueError:
        raise InvalidQuery(f"not a sequence of this SQLite store: {since!r}") from None


def sqlite_url(path: str | Path) -> str:
    """The store URL of an SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


class SQLiteStore(Store):
    """The Store contract on the SQLite file ``path`` (created if absent).

    Raises StoreUnavailable when the file cannot be opened or created (for
    instance when its directory is missing or not writable).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.url = sqlite_url(self.path)
        try:
            self._file = SharedFile(self.path, _SCHEMA, self.url)
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"cannot open the SQLite store {self.path} ({error}); "
                "does its directory exist and is it writable?"
            ) from error
        logger.debug("opened %s", self.url)

    @staticmethod
    def _require_db(conn: sqlite3.Connection, db: str) -> None:
        if conn.execute("SELECT 1 FROM dbs WHERE name = ?", (db,)).fetchone() is None:
            raise NotFound(f"no database {db!r}")

    # -- databases -------------------------------------------------------------

    def create_db(self, db: str) -> None:
        if not isinstance(db, str) or not _DB_NAME.fullmatch(db):
            raise ValueError(f"invalid database name {db!r} (CouchDB: ^[a-z][a-z0-9_$()+/-]*$)")
        with self._file.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO dbs (name) VALUES (?)", (db,))

    def drop_db(self, db: str) -> None:
        with self._file.transaction() as conn:
            names = conn.execute("SELECT name FROM indexes WHERE db = ?", (db,)).fetchall()
            for (name,) in names:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')
            conn.execute("DELETE FROM indexes WHERE db = ?", (db,))
            conn.execute("DELETE FROM docs WHERE db = ?", (db,))
            conn.execute("DELETE FROM dbs WHERE name = ?", (db,))

    def db_names(self) -> list[str]:
        with self._file.connection() as conn:
            return [name for (name,) in conn.execute("SELECT name FROM dbs ORDER BY name")]

    # -- documents -------------------------------------------------------------

    def get(self, db: str, doc_id: str) -> Doc:
        with self._file.connection() as conn:
            row = conn.execute(
                "SELECT body FROM docs WHERE db = ? AND id = ? AND deleted = 0", (db, doc_id)
            ).fetchone()
            if row is None:
                self._require_db(conn, db)
                raise NotFound(f"no document {doc_id!r} in {db!r}")
        result: Doc = json.loads(row[0])
        return result

    def get_many(self, db: str, doc_ids: Sequence[str]) -> dict[str, Doc]:
        keys = list(dict.fromkeys(doc_ids))
        found: dict[str, Doc] = {}
        with self._file.connection() as conn:
            self._require_db(conn, db)
            for start in range(0, len(keys), _IDS_PER_QUERY):
                chunk = keys[start : start + _IDS_PER_QUERY]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT id, body FROM docs WHERE db = ? AND deleted = 0 AND id IN ({marks})",
                    (db, *chunk),
                ).fetchall()
                found.update((doc_id, json.loads(body)) for doc_id, body in rows)
        return found

    def announced_later(self) -> AbstractContextManager[None]:
        return self._file.announced_later()

    def put(self, db: str, doc: Mapping[str, Any]) -> Doc:
        doc_id = _doc_id(doc)
        with self._file.transaction(db) as conn:
            self._require_db(conn, db)
            rev = self._write(conn, db, doc_id, doc)
        written = {key: value for key, value in doc.items() if key != "_deleted"}
        written.update(_id=doc_id, _rev=rev)
        return written

    def delete(self, db: str, doc_id: str, rev: str) -> None:
        with self._file.transaction(db) as conn:
            self._require_db(conn, db)
            self._write(conn, db, doc_id, {"_id": doc_id, "_rev": rev, "_deleted": True})

    def bulk_put(self, db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        ids = [_doc_id(doc) for doc in docs]
        results = []
        with self._file.transaction(db) as conn:
            self._require_db(conn, db)
            for doc_id, doc in zip(ids, docs, strict=True):
                try:
                    results.append(BulkResult(doc_id, rev=self._write(conn, db, doc_id, doc)))
                except Conflict:
                    results.append(BulkResult(doc_id, error="conflict"))
                except NotFound:
                    results.append(BulkResult(doc_id, error="not_found"))
        return results

    @staticmethod
    def _write(conn: sqlite3.Connection, db: str, doc_id: str, doc: Mapping[str, Any]) -> str:
        """Write one document inside the caller's transaction; its new revision."""
        given = doc.get("_rev")
        deleting = doc.get("_deleted") is True
        row = conn.execute(
            "SELECT rev, deleted FROM docs WHERE db = ? AND id = ?", (db, doc_id)
        ).fetchone()
        if row is None:
            if deleting:
                raise NotFound(f"no document {doc_id!r} in {db!r}")
            if given is not None:
                raise Conflict(f"{doc_id!r} in {db!r}: no revision {given!r} to update")
        elif row[1]:  # a tombstone: recreate without a revision; deleting again is stale
            if deleting or given not in (None, row[0]):
                raise Conflict(f"{doc_id!r} in {db!r} was deleted (revision {row[0]})")
        elif given != row[0]:
            raise Conflict(f"{doc_id!r} in {db!r}: revision {given!r} is not the current one")
        generation = 0 if row is None else rev_generation(row[0]) or 0
        rev = f"{generation + 1}-{os.urandom(16).hex()}"
        if deleting:
            body: dict[str, Any] = {"_id": doc_id, "_rev": rev, "_deleted": True}
        else:
            body = {"_id": doc_id, "_rev": rev}
            body.update((k, v) for k, v in doc.items() if k not in _SPECIAL_MEMBERS)
        conn.execute(
            "INSERT OR REPLACE INTO docs (db, id, rev, deleted, body) VALUES (?, ?, ?, ?, ?)",
            (db, doc_id, rev, int(deleting), _dumps(body)),
        )
        return rev

    def all_docs(self, db: str) -> list[Doc]:
        with self._file.connection() as conn:
            self._require_db(conn, db)
            rows = conn.execute(
                "SELECT body FROM docs WHERE db = ? AND deleted = 0 ORDER BY id", (db,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    # -- queries ---------------------------------------------------------------

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
        node = mango.parse_selector(selector)
        order = mango.parse_sort(sort) if sort is not None else None
        paths = None if fields is None else mango.parse_fields(fields)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidQuery(f"limit must be a non-negative int or None, not {limit!r}")
        if not isinstance(skip, int) or skip < 0:
            raise InvalidQuery(f"skip must be a non-negative int, not {skip!r}")
        wanted = None if limit is None else skip + limit
        with self._file.connection() as conn:
            self._require_db(conn, db)
            docs = self._select(conn, db, node, order, wanted)
        docs = docs[skip:wanted]
        return docs if paths is None else [mango.project_parsed(doc, paths) for doc in docs]

    def count(self, db: str, selector: Mapping[str, Any]) -> int:
        node = mango.parse_selector(selector)
        with self._file.connection() as conn:
            self._require_db(conn, db)
            return len(self._select(conn, db, node, None, None))

    @staticmethod
    def _select(
        conn: sqlite3.Connection,
        db: str,
        node: mango.Node,
        order: tuple[list[mango.Path], bool] | None,
        wanted: int | None,
    ) -> list[Doc]:
        """Matching documents in order: at least the first ``wanted`` (None: all)."""
        found = query.selector_filter(db, node)
        check = None if found.exact else node
        if order is None:
            # "+id" when filtering, or SQLite scans (db, id) in order and skips our indexes
            sql = found.sql("+id" if found.where else "id")
            return query.take(conn.execute(sql, found.params), check, wanted) or []
        paths, descending = order
        by = query.order_by(found, paths, descending)
        if by is not None:
            docs = query.take(conn.execute(found.sql(by), found.params), check, wanted, paths)
            if docs is not None:
                return docs
        docs = query.take(conn.execute(found.sql(), found.params), check, None) or []
        return mango.sort_parsed(docs, paths, descending)

    def ensure_index(self, db: str, fields: Sequence[str]) -> None:
        if isinstance(fields, str) or not fields:
            raise InvalidQuery(f"an index needs a non-empty list of fields, not {fields!r}")
        create = query.create_index_sql(db, fields)
        with self._file.transaction() as conn:
            self._require_db(conn, db)
            if create is not None:
                conn.execute(create)
            conn.execute(
                "INSERT OR IGNORE INTO indexes (name, db, fields) VALUES (?, ?, ?)",
                (query.index_name(db, fields), db, json.dumps(list(fields))),
            )

    # -- change feed -----------------------------------------------------------

    @staticmethod
    def _latest(conn: sqlite3.Connection, db: str) -> int:
        row = conn.execute("SELECT max(seq) FROM docs WHERE db = ?", (db,)).fetchone()
        return int(row[0] or 0)

    def current_seq(self, db: str) -> Seq:
        with self._file.connection() as conn:
            self._require_db(conn, db)
            return self._latest(conn, db)

    def changes(
        self,
        db: str,
        since: Seq | None = None,
        limit: int | None = None,
        *,
        include_docs: bool = False,
    ) -> ChangesPage:
        after = _as_seq(since)
        body = "body" if include_docs else "NULL"
        with self._file.connection() as conn:
            self._require_db(conn, db)
            rows = conn.execute(
                f"SELECT id, rev, seq, deleted, {body} FROM docs WHERE db = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (db, after, -1 if limit is None else limit),
            ).fetchall()
        changes = [
            Change(
                id=i,
                rev=r,
                seq=s,
                deleted=bool(d),
                doc=None if d or text is None else json.loads(text),
            )
            for i, r, s, d, text in rows
        ]
        return ChangesPage(changes, changes[-1].seq if changes else after)

    def wait_for_change(self, db: str, since: Seq, timeout: float) -> bool:
        after = _as_seq(since)
        deadline = time.monotonic() + max(0.0, timeout)
        with self._file.connection() as conn:
            self._require_db(conn, db)
            while True:
                token = self._file.token(db)  # before the check: no write slips between
                if self._latest(conn, db) > after:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._file.closed:
                    return False
                self._file.await_change(conn, db, token, remaining)

    # -- lifetime --------------------------------------------------------------

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
            logger.debug("closed %s", self.url)


def _doc_id(doc: Mapping[str, Any]) -> str:
    if not isinstance(doc, Mapping):
        raise ValueError(f"a document is a mapping, not {type(doc).__name__}")
    doc_id = doc.get("_id")
    if doc_id is None:
        return os.urandom(16).hex()
    if not isinstance(doc_id, str) or not doc_id or doc_id.startswith("_"):
        raise ValueError(f"_id must be a non-empty string not starting with '_': {doc_id!r}")
    for key in doc:
        if key.startswith("_") and key not in _SPECIAL_MEMBERS:
            raise ValueError(f"{key!r}: CouchDB reserves top-level fields starting with '_'")
    return doc_id


def _dumps(body: Mapping[str, Any]) -> str:
    try:
        return json.dumps(body, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"a document must be JSON: {error}") from None
