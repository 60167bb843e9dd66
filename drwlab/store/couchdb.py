"""CouchDB backend: the Store contract over the HTTP API of CouchDB or pouchdb-server.

Written to the common subset of Apache CouchDB 3 and pouchdb-server 4.2
(the HTTP plumbing, credentials and error mapping are in ``couchdb_http.py``).
Where the two differ, or a server answers what the contract does not allow:

- ``find``: the server is sent only the selector's top-level scalar
  equalities and returns every document meeting them (CouchDB, which stops
  at 25, page by page with bookmarks); :mod:`drwlab.store.mango`, the SQLite
  backend's matcher too, then filters, sorts, skips, limits and projects.
  That keeps one semantics for both backends, steers clear of
  pouchdb-server's ``_find`` bugs (a wrong ``limit``/``skip`` with ``$gt`` on
  an index; a crash on nested-object selectors over documents lacking the
  object), and needs no server index for a sort. A query with ``fields`` and no sort
  has the server project to those fields and the ones its selector tests,
  so large fields never travel.
- ``wait_for_change``: pouchdb-server ignores the long-poll ``timeout``, so the
  wait is bounded by the HTTP read timeout, and running out of it means
  "no change"; pouchdb-server is asked for no heartbeat, which could restart
  that timeout (CouchDB sends none unless asked, and then ignores ``timeout``).
- ``follow_changes``: the continuous feed, one open connection with a line per
  change and a newline per heartbeat (both servers). Requests ask for no gzip:
  pouchdb-server compresses when asked, and its compressor holds a continuous
  feed back until the buffer fills.
- ``delete`` with a made-up revision: pouchdb-server answers 404, CouchDB 409.
- Design documents (the indexes of ``ensure_index``) never show in results.
- Documents, ids and database names are checked as the SQLite backend checks
  them (ValueError) before any request.

A store may live in a namespace (``namespace.py``): every database name it is
given is then prefixed on the server, and it lists and drops only its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any

from drwlab.errors import Conflict, InvalidQuery, StoreUnavailable
from drwlab.store.base import BulkResult, Change, ChangesPage, Doc, Seq, SortSpec, Store
from drwlab.store.couchdb_http import CouchConnection, path
from drwlab.store.mango import (
    Node,
    equalities,
    parse_fields,
    parse_selector,
    parse_sort,
    project,
    sort_docs,
    top_fields,
)
from drwlab.store.namespace import (
    check_namespace,
    logical,
    qualified,
    split_namespace,
    with_namespace,
)

logger = logging.getLogger(__name__)

FIND_PAGE = 1000
"""Documents per ``_find`` request when the server pages by bookmark (CouchDB)."""
WAIT_MARGIN = 0.25
"""Seconds a long-poll may overrun its timeout before the read timeout cuts it."""
STREAM_MARGIN = 2.0
"""Seconds beyond two heartbeats a continuous feed may stay silent before it is reopened."""
_DB_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]*")
_SPECIAL_MEMBERS = ("_id", "_rev", "_deleted")
_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class CouchDBStore(Store):
    """The Store contract on a CouchDB-compatible server.

    Parameters: ``url`` ``http(s)://[user:password@]host:port[/prefix][?namespace=NAME]``;
    ``namespace`` the same as the URL's query (None: the server's top, the
    original's layout); ``user``/``password`` used when the URL carries none;
    ``timeout`` seconds for one HTTP request (a long-poll gets its own). Raises
    ``ValueError`` for a URL that is not http(s), or a bad or contradicting
    namespace; connects only when first used.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        url, in_url = split_namespace(url)
        if namespace is not None and in_url not in (None, namespace):
            raise ValueError(f"the URL names namespace {in_url!r}, the argument {namespace!r}")
        self.namespace = in_url if namespace is None else check_namespace(namespace)
        self._http = CouchConnection(url, user=user, password=password, timeout=timeout)
        self.server_url = self._http.url
        """The server's URL (password hidden), without the namespace."""
        self.url = with_namespace(self.server_url, self.namespace)
        self._streams = True  # False once a continuous feed was seen held back

    def _name(self, db: str) -> str:
        return qualified(self.namespace, db)

    def _path(self, db: str, *rest: str) -> str:
        return path(self._name(db), *rest)

    def server_name(self, db: str) -> str:
        """The server's name of database ``db``: ``alice-msgq`` for ``msgq`` in namespace alice."""
        return self._name(db)

    # -- databases -------------------------------------------------------------
    def create_db(self, db: str) -> None:
        if not isinstance(db, str) or not _DB_NAME.fullmatch(self._name(db)):
            raise ValueError(f"invalid database name {db!r} (CouchDB: ^[a-z][a-z0-9_$()+/-]*$)")
        operation = f"create database {db!r}"
        response = self._http.call(operation, "PUT", self._path(db))
        if response.status_code != 412:  # 412: it exists already
            self._http.check(operation, response)

    def drop_db(self, db: str) -> None:
        operation = f"drop database {db!r}"
        response = self._http.call(operation, "DELETE", self._path(db))
        if response.status_code != 404:
            self._http.check(operation, response)

    def db_names(self) -> list[str]:
        """The databases of this store's namespace, by their logical names (at the
        top, without a namespace: every database of the server)."""
        names = self._http.json("list databases", "GET", "/_all_dbs")
        mine = (logical(self.namespace, name) for name in names if not name.startswith("_"))
        return sorted(name for name in mine if name is not None)

    def drop_namespace(self) -> list[str]:
        """Drop every database of this store's namespace; their logical names.

        Raises ValueError without a namespace: the top is the whole server,
        other namespaces and the original's databases included.
        """
        if self.namespace is None:
            raise ValueError(f"{self.server_url}: no namespace to drop (that would be the server)")
        dropped = self.db_names()
        for db in dropped:
            self.drop_db(db)
        return dropped

    # -- documents -------------------------------------------------------------
    def get(self, db: str, doc_id: str) -> Doc:
        doc: Doc = self._http.json(f"get {db}/{doc_id}", "GET", self._path(db, doc_id))
        return doc

    def get_many(self, db: str, doc_ids: Sequence[str]) -> dict[str, Doc]:
        operation = f"get {len(doc_ids)} documents of {db}"
        keys = list(dict.fromkeys(doc_ids))
        if not keys:
            self._http.json(operation, "GET", self._path(db))  # NotFound for a missing database
            return {}
        answer = self._http.json(
            operation,
            "POST",
            self._path(db, "_all_docs"),
            params={"include_docs": "true"},
            body={"keys": keys},
        )
        found = {}
        for row in _member(answer, "rows", operation):
            doc = row.get("doc")  # None for a deleted document; no "doc" for a missing one
            if isinstance(doc, dict) and not doc.get("_deleted"):
                found[doc["_id"]] = doc
        return found

    def put(self, db: str, doc: Mapping[str, Any]) -> Doc:
        written = _prepared(doc)
        doc_id = written["_id"]
        answer = self._http.json(f"put {db}/{doc_id}", "PUT", self._path(db, doc_id), body=written)
        written.pop("_deleted", None)
        written["_rev"] = _member(answer, "rev", f"put {db}/{doc_id}")
        return written

    def delete(self, db: str, doc_id: str, rev: str) -> None:
        operation = f"delete {db}/{doc_id}"
        response = self._http.call(operation, "DELETE", self._path(db, doc_id), params={"rev": rev})
        if response.status_code == 404:
            # pouchdb-server answers 404 for a revision it never saw; CouchDB 409.
            exists = self._http.call(operation, "HEAD", self._path(db, doc_id)).status_code == 200
            if exists:
                raise Conflict(f"{operation}: stale revision {rev}")
        self._http.check(operation, response)

    def bulk_put(self, db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        written = [_prepared(doc) for doc in docs]
        answers = self._http.json(
            f"bulk write to {db}", "POST", self._path(db, "_bulk_docs"), body={"docs": written}
        )
        # Pair answers by id, not by position: pouchdb-server does not always
        # answer in the order of the request (a wrong pairing made the bus hand
        # a message to a listener that had lost the claim).
        by_id: dict[str, list[dict[str, Any]]] = {}
        for answer in answers:
            by_id.setdefault(answer.get("id"), []).append(answer)
        results = []
        for doc in written:
            answer = by_id[doc["_id"]].pop(0) if by_id.get(doc["_id"]) else {"error": "no answer"}
            results.append(
                BulkResult(id=doc["_id"], rev=answer.get("rev"), error=answer.get("error"))
            )
        return results

    def all_docs(self, db: str) -> list[Doc]:
        answer = self._http.json(
            f"list documents of {db}",
            "GET",
            self._path(db, "_all_docs"),
            params={"include_docs": "true"},
        )
        docs = [
            row["doc"]
            for row in _member(answer, "rows", f"list documents of {db}")
            if not _is_design(row["id"])
        ]
        return sorted(docs, key=_by_id)

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
        node = _check_query(selector, sort, limit, skip, fields)
        # Without a sort, the server may project to what is asked and what the
        # selector tests: NGAS files, or whole status entities, then travel as ids.
        server_fields = None
        if sort is None and fields is not None:
            asked = {path[0] for path in parse_fields(fields)}
            server_fields = sorted({*asked, *top_fields(node), "_id"})
        docs = self._matching(db, node, sort, server_fields)
        docs = sort_docs(docs, sort) if sort is not None else sorted(docs, key=_by_id)
        docs = docs[skip : None if limit is None else skip + limit]
        return docs if fields is None else [project(doc, fields) for doc in docs]

    def _matching(
        self, db: str, node: Node, sort: SortSpec | None, fields: list[str] | None = None
    ) -> list[Doc]:
        """Every document matching the parsed selector ``node``, in server order
        (projected on the server to ``fields`` if given: ``node`` must not need others).

        Paging never stops early: without a sort, documents go by ``_id`` (as
        from SQLite) whatever order the server answered in.
        """
        operation = f"find in {db}"
        request: dict[str, Any] = {"selector": _server_selector(node, sort)}
        if fields is not None:
            request["fields"] = fields
        by_bookmark = self._http.is_couchdb()
        if by_bookmark:
            request["limit"] = FIND_PAGE
        docs: list[Doc] = []
        while True:
            answer = self._http.query(operation, "POST", self._path(db, "_find"), body=request)
            page = _member(answer, "docs", operation)
            docs.extend(doc for doc in page if not _is_design(doc["_id"]) and node.matches(doc))
            if not by_bookmark or len(page) < FIND_PAGE or not answer.get("bookmark"):
                return docs
            request["bookmark"] = answer["bookmark"]

    def ensure_index(self, db: str, fields: Sequence[str]) -> None:
        if isinstance(fields, str) or not fields:
            raise InvalidQuery(f"an index needs a non-empty list of fields, not {fields!r}")
        parse_fields(fields)
        self._http.json(
            f"index {db} on {list(fields)}",
            "POST",
            self._path(db, "_index"),
            body={"index": {"fields": list(fields)}},
        )

    # -- change feed -----------------------------------------------------------
    def current_seq(self, db: str) -> Seq:
        operation = f"read the seq of {db}"
        seq: Seq = _member(
            self._http.json(operation, "GET", self._path(db)), "update_seq", operation
        )
        return seq

    def changes(
        self,
        db: str,
        since: Seq | None = None,
        limit: int | None = None,
        *,
        include_docs: bool = False,
    ) -> ChangesPage:
        operation = f"changes of {db}"
        params: dict[str, Any] = {} if since is None else {"since": since}
        if limit is not None:
            params["limit"] = limit
        if include_docs:
            params["include_docs"] = "true"
        while True:
            answer = self._http.query(operation, "GET", self._path(db, "_changes"), params=params)
            rows = _member(answer, "results", operation)
            changes = [_change(row) for row in rows if not _is_design(row["id"])]
            if changes or limit is None or len(rows) < limit:
                return ChangesPage(changes=changes, last_seq=_member(answer, "last_seq", operation))
            params["since"] = answer["last_seq"]  # a full page of index changes only

    def wait_for_change(self, db: str, since: Seq, timeout: float) -> bool:
        return bool(self._long_poll(db, since, timeout, 1)[0])

    def wait_for_changes(
        self, db: str, since: Seq, timeout: float, limit: int, *, include_docs: bool = False
    ) -> ChangesPage | None:
        rows, last_seq = self._long_poll(db, since, timeout, limit, include_docs=include_docs)
        if not rows:
            return None
        changes = [_change(row) for row in rows if not _is_design(row["id"])]
        return ChangesPage(changes=changes, last_seq=last_seq)

    def follow_changes(
        self, db: str, since: Seq, *, heartbeat: float, limit: int, include_docs: bool = False
    ) -> Iterator[ChangesPage | None]:
        """The continuous feed: one open connection, a line per change, a newline per
        ``heartbeat``; no request per change. Ends (quietly) if no line, not even a
        heartbeat, arrives for a while: a server that stalls gets a fresh request.

        A feed that sends nothing at all, not even its first heartbeat, is held
        back by something between (a proxy buffering whole answers): the store
        then follows by long-polls, the default way, from then on.
        """
        if self._streams:
            sent = yield from self._stream(db, since, heartbeat, include_docs)
            if sent is not None:
                return
            self._streams = False
            logger.warning(
                "%s: the continuous change feed sends nothing (a proxy that buffers "
                "answers?); following changes by long-polls instead",
                self.url,
            )
        yield from super().follow_changes(
            db, since, heartbeat=heartbeat, limit=limit, include_docs=include_docs
        )

    def _stream(
        self, db: str, since: Seq, heartbeat: float, include_docs: bool
    ) -> Generator[ChangesPage | None, None, int | None]:
        """Follow the continuous feed; return how many lines came (None: not one)."""
        operation = f"follow the changes of {db}"
        params: dict[str, Any] = {
            "since": since,
            "feed": "continuous",
            "heartbeat": max(1, int(heartbeat * 1000)),
        }
        if include_docs:
            params["include_docs"] = "true"
        read_timeout = 2 * heartbeat + STREAM_MARGIN
        response = self._http.stream(operation, self._path(db, "_changes"), params, read_timeout)
        if response is None:
            return None
        if response.status_code == 400:
            response.close()
            raise InvalidQuery(f"{operation}: since {since!r} refused")
        self._http.check(operation, response)
        lines = 0
        with contextlib.closing(response):
            for line in self._http.lines(operation, response):
                lines += 1
                if not line:
                    yield None
                    continue
                row = _decoded_line(line, operation)
                if "last_seq" in row and "id" not in row:
                    break  # the server ended the feed
                seq = _member(row, "seq", operation)
                changes = [] if _is_design(row["id"]) else [_change(row)]
                yield ChangesPage(changes=changes, last_seq=seq)
        return lines or None

    def _long_poll(
        self, db: str, since: Seq, timeout: float, limit: int, *, include_docs: bool = False
    ) -> tuple[list[dict[str, Any]], Seq]:
        """The rows (at most ``limit``) and last seq of a long-poll; no rows on timeout."""
        operation = f"wait for a change of {db}"
        params: dict[str, Any] = {"since": since, "limit": limit}
        if include_docs:
            params["include_docs"] = "true"
        read_timeout = max(timeout, 0) + WAIT_MARGIN
        if timeout > 0:
            params.update(feed="longpoll", timeout=max(1, int(timeout * 1000)))
            if not self._http.is_couchdb():
                params["heartbeat"] = int((read_timeout + 60) * 1000)  # none before the end
        response = self._http.poll(operation, self._path(db, "_changes"), params, read_timeout)
        if response is None:
            return [], since  # pouchdb-server holds a long-poll past its timeout
        if response.status_code == 400:
            raise InvalidQuery(f"{operation}: since {since!r} refused")
        self._http.check(operation, response)
        answer = self._http.decode(operation, response)
        rows = _member(answer, "results", operation)
        return rows, (_member(answer, "last_seq", operation) if rows else since)

    # -- lifetime --------------------------------------------------------------
    def close(self) -> None:
        self._http.close()


def _prepared(doc: Mapping[str, Any]) -> Doc:
    """A JSON copy of ``doc`` with an ``_id``; ValueError where the SQLite backend raises it."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"a document is a mapping, not {type(doc).__name__}")
    try:
        copy: Doc = json.loads(json.dumps(dict(doc), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"a document must be JSON: {error}") from None
    if copy.get("_id") is None:
        copy["_id"] = uuid.uuid4().hex
    doc_id = copy["_id"]
    if not isinstance(doc_id, str) or not doc_id or doc_id.startswith("_"):
        raise ValueError(f"_id must be a non-empty string not starting with '_': {doc_id!r}")
    for key in copy:
        if key.startswith("_") and key not in _SPECIAL_MEMBERS:
            raise ValueError(f"{key!r}: CouchDB reserves top-level fields starting with '_'")
    return copy


def _check_query(selector: Any, sort: Any, limit: Any, skip: Any, fields: Any) -> Node:
    """The parsed selector; InvalidQuery for what the SQLite backend refuses too."""
    node = parse_selector(selector)
    if sort is not None:
        parse_sort(sort)
    if fields is not None:
        parse_fields(fields)
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InvalidQuery(f"limit must be a non-negative int or None, not {limit!r}")
    if not isinstance(skip, int) or skip < 0:
        raise InvalidQuery(f"skip must be a non-negative int, not {skip!r}")
    return node


def _server_selector(node: Node, sort: SortSpec | None) -> dict[str, Any]:
    """What every match (and sorted result) meets and no server gets wrong: scalar
    equalities, and the existence of sort fields (a result lacking one is left out).

    CouchDB uses an index only when the selector requires all its fields.
    """
    pushed: dict[str, Any] = {}
    for field_path, value in equalities(node):
        if isinstance(value, (str, bool, int, float)) and _plain(field_path):
            pushed[".".join(field_path)] = {"$eq": value}
    for field_path in parse_sort(sort)[0] if sort is not None else []:
        if _plain(field_path):
            pushed.setdefault(".".join(field_path), {"$exists": True})
    return pushed


def _member(answer: Any, key: str, operation: str) -> Any:
    """``answer[key]``; StoreUnavailable if the server's JSON lacks it (not a CouchDB answer)."""
    if not isinstance(answer, dict) or key not in answer:
        raise StoreUnavailable(f"{operation}: the server's answer has no {key!r}")
    return answer[key]


def _decoded_line(line: bytes, operation: str) -> dict[str, Any]:
    """One line of a continuous feed as a JSON object; StoreUnavailable if it is not one."""
    try:
        row = json.loads(line)
    except ValueError:
        raise StoreUnavailable(f"{operation}: a line of the feed is not JSON") from None
    if not isinstance(row, dict):
        raise StoreUnavailable(f"{operation}: a line of the feed is not a JSON object")
    return row


def _plain(field_path: tuple[str, ...]) -> bool:
    return all(_PLAIN_FIELD.fullmatch(part) for part in field_path)


def _change(row: Mapping[str, Any]) -> Change:
    deleted = bool(row.get("deleted", False))
    doc = row.get("doc")
    if deleted or not isinstance(doc, dict) or doc.get("_deleted"):
        doc = None
    return Change(
        id=row["id"], rev=row["changes"][0]["rev"], seq=row["seq"], deleted=deleted, doc=doc
    )


def _is_design(doc_id: str) -> bool:
    return doc_id.startswith("_design/")


def _by_id(doc: Doc) -> str:
    return str(doc["_id"])
