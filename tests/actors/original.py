"""A client that behaves on the wire as the original system's scripts do (``shared/dbcon.py``,
``shared/dbmsgq.py``, ``workflow-db-mock/*.py`` of amchavan/alma-datapro-workflow-sandbox).

Written for the tests from the original's documented behaviour, not copied:

- ``save(db, id, doc)`` PUTs the whole document to the id with ``:`` and ``/``
  replaced by ``_``, and hands back the HTTP status (201, or 409 on a stale
  revision, which the original's callers ignore); ``find_one`` GETs that id.
- a message is ``{"creationTimestamp", "originIP", "selector", "consumed": false,
  "body"}`` (plus ``msgbackID`` on an RPC request), saved under
  ``<timestamp>-<uuid hex>``; a send to ``name.*`` reads the group document
  ``name.*`` and sends to each member.
- ``get_next`` finds the unconsumed messages whose selector matches (a regex),
  takes the oldest, marks it ``consumed: true`` by saving the whole document, and
  returns it: no claim, no check of the save (the original's bug, not copied by drwlab).
- an RPC call sends the request with a ``msgbackID`` and waits with ``get_next``
  for the reply on that selector, returning the reply's body.

On CouchDB it speaks HTTP (``requests``); SQLite has no HTTP, so there the same
calls go through the Store with the same ids, documents and revisions.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Protocol

import requests

from drwlab.errors import Conflict, NotFound
from drwlab.store import Store
from drwlab.timeutil import timestamp

POLL = 0.05
"""Pause between two looks of ``get_next`` (the original slept 1 s and more)."""


def encode(doc_id: str) -> str:
    """The id the original's ``save``/``findOne`` actually use."""
    return doc_id.replace(":", "_").replace("/", "_")


class Database(Protocol):
    """The original's DbConnection: save, findOne, find."""

    def save(self, db: str, doc_id: str, doc: dict[str, Any]) -> int: ...

    def find_one(self, db: str, doc_id: str) -> tuple[int, dict[str, Any]]: ...

    def find(self, db: str, selector: dict[str, Any]) -> list[dict[str, Any]]: ...


class HttpDatabase:
    """The original's DbConnection over HTTP, against a CouchDB-compatible server."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def save(self, db: str, doc_id: str, doc: dict[str, Any]) -> int:
        # the original sent no Content-Type (CouchDB reads the body anyway); pouchdb-server
        # needs it to read the body at all
        reply = requests.put(
            f"{self.url}/{db}/{encode(doc_id)}",
            data=json.dumps(doc),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        return reply.status_code

    def find_one(self, db: str, doc_id: str) -> tuple[int, dict[str, Any]]:
        reply = requests.get(f"{self.url}/{db}/{encode(doc_id)}", timeout=10)
        return reply.status_code, reply.json()

    def find(self, db: str, selector: dict[str, Any]) -> list[dict[str, Any]]:
        reply = requests.post(
            f"{self.url}/{db}/_find",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"selector": selector}),
            timeout=10,
        )
        reply.raise_for_status()
        docs: list[dict[str, Any]] = reply.json()["docs"]
        return docs


class StoreDatabase:
    """The same calls on a drwlab Store (for SQLite): same ids, whole documents, revisions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, db: str, doc_id: str, doc: dict[str, Any]) -> int:
        try:
            self.store.put(db, {**doc, "_id": encode(doc_id)})
        except Conflict:
            return 409
        return 201

    def find_one(self, db: str, doc_id: str) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self.store.get(db, encode(doc_id))
        except NotFound:
            return 404, {"error": "not_found", "reason": "missing"}

    def find(self, db: str, selector: dict[str, Any]) -> list[dict[str, Any]]:
        return self.store.find(db, selector)


class OriginalQueue:
    """The original's MqConnection on ``msgq``."""

    def __init__(self, database: Database, queue: str = "msgq") -> None:
        self.db = database
        self.queue = queue

    def send(self, body: Any, selector: str, *, msgback: bool = False) -> list[dict[str, Any]]:
        """Send ``body``; a group selector (``name.*``) reaches every member. The messages."""
        if not selector.endswith(".*"):
            return [self._send(body, selector, msgback)]
        status, group = self.db.find_one(self.queue, selector)
        assert status == 200, f"group not found: {selector} ({status})"
        return [self._send(body, member, msgback) for member in group["members"]]

    def _send(self, body: Any, selector: str, msgback: bool) -> dict[str, Any]:
        now = timestamp()
        correlation = uuid.uuid4().hex
        message: dict[str, Any] = {
            "creationTimestamp": now,
            "originIP": "0.0.0.0",
            "selector": selector,
            "consumed": False,
        }
        if msgback:
            message["msgbackID"] = correlation
        message["body"] = body
        status = self.db.save(self.queue, f"{now}-{correlation}", message)
        assert status == 201, f"msg send failed: {status}"
        return {**message, "_id": encode(f"{now}-{correlation}")}

    def get_next(self, selector: str, timeout: float = 15.0) -> dict[str, Any] | None:
        """The oldest unconsumed message matching ``selector``, marked consumed (None: none
        came within ``timeout`` s). The save's answer is kept in ``"_saved"``."""
        query = {"$and": [{"selector": {"$regex": selector}}, {"consumed": False}]}
        deadline = time.monotonic() + timeout
        while True:
            found = self.db.find(self.queue, query)
            if found:
                break
            if time.monotonic() > deadline:
                return None
            time.sleep(POLL)
        message = sorted(found, key=lambda doc: doc["creationTimestamp"])[0]
        message["consumed"] = True
        saved = self.db.save(self.queue, message["_id"], message)
        return {**message, "_saved": saved}

    def join_group(self, group: str, member: str) -> None:
        status, doc = self.db.find_one(self.queue, group)
        if status == 404:
            self.db.save(self.queue, group, {"members": [member]})
        elif member not in doc["members"]:
            self.db.save(self.queue, group, {**doc, "members": [*doc["members"], member]})


class OriginalXtssClient:
    """The original's ExecutorClient on ``xtss`` and its request helpers."""

    def __init__(self, queue: OriginalQueue, selector: str = "xtss") -> None:
        self.queue = queue
        self.selector = selector
        self.replies: list[dict[str, Any]] = []

    def call(self, request: Any, timeout: float = 15.0) -> Any:
        """Send ``request`` and return the reply's body (what the original's clients read)."""
        [message] = self.queue.send(request, self.selector, msgback=True)
        reply = self.queue.get_next(message["msgbackID"], timeout)
        assert reply is not None, f"no reply to {request!r} within {timeout} s"
        self.replies.append(reply)
        return reply["body"]

    def set_field(self, operation: str, uid: str, value: Any) -> Any:
        """``set-state``, ``set-substate``, ``set-exec``, ``clear-exec`` as its helpers send."""
        return self.call({"operation": operation, "ousUID": uid, "value": value})
