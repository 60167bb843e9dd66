"""The registry of tables: what each table reads, which columns it has, how its rows are made.

One entry per table. The snapshot (``views.tables``), the dashboard page, the
live notebook tables and the run report all iterate :data:`TABLES`, so a new
table, or a new column, is one edit here and shows up everywhere::

    TABLES["my-table"] = TableSpec(name="my-table", caption="...", db=wire.NGAS_DB, ...)

A spec only describes: it reads nothing and renders nothing. The row makers
below are pure functions from store documents to plain dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drwlab.bus.message import MSGBACK_PREFIX
from drwlab.store.base import Doc
from drwlab.views.cells import (
    describe_error,
    describe_error_history,
    describe_fault,
    describe_requeues,
    fault_actor,
    summarize_body,
)
from drwlab.wire import (
    DATABASES,
    DELIVERY_DB,
    EXECUTIVE_FLAG,
    FAULTS_DB,
    METADATA_DB,
    MSGQ,
    NGAS_DB,
    REPORTS_DB,
    STATUS_DB,
)

Row = Mapping[str, Any]
RowMaker = Callable[[Sequence[Doc]], Iterable[Row]]

ALL: dict[str, Any] = {}
"""The Mango selector matching every document."""


@dataclass(frozen=True)
class TableSpec:
    """One table: where it reads, what it shows, how its rows are made.

    Parameters
    ----------
    name:
        Its key in snapshots and its element id in pages (``"ngas"``).
    caption:
        The title shown above it.
    db, selector, fields:
        The query: one ``store.find(db, selector, fields=fields)``. Tables
        with the same ``db`` and ``selector`` share one read.
    columns:
        The columns of the table, in order.
    rows:
        Documents -> rows (dicts keyed by column; missing keys are None),
        sorted as the table shows them.
    headers:
        Columns shown in pages -> their titles; empty: every column, as named.
    on_dashboard:
        Shown on the dashboard page (every table is in the report and can be
        a live notebook table).
    """

    name: str
    caption: str
    db: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    rows: RowMaker
    selector: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    on_dashboard: bool = True

    @property
    def shown(self) -> dict[str, str]:
        """Column -> title of what pages show."""
        return dict(self.headers) or {name: name for name in self.columns}

    @property
    def query_key(self) -> tuple[str, str]:
        """Equal for tables that can share one read (same database, same selector)."""
        return self.db, json.dumps(self.selector, sort_keys=True)


def by_key(key: str, *, reverse: bool = False) -> Callable[[Iterable[Row]], list[Row]]:
    """Sort rows by the text of ``key`` (None sorts as the empty string)."""
    return lambda rows: sorted(rows, key=lambda row: str(row.get(key) or ""), reverse=reverse)


# -- row makers -------------------------------------------------------------------


def status_row(doc: Doc) -> dict[str, Any]:
    """A status entity as a row of the status table."""
    flags = doc.get("flags") or {}
    return {
        "uid": doc.get("entityId"),
        "progID": doc.get("progID"),
        "state": doc.get("state"),
        "substate": doc.get("substate"),
        "executive": flags.get(EXECUTIVE_FLAG) if isinstance(flags, dict) else None,
        "recipe": doc.get("pipeline-recipe"),
        "timestamp": doc.get("timestamp"),
        "problem": doc.get("problem"),
    }


def _by_uid(docs: Sequence[Doc]) -> list[Doc]:
    return sorted(docs, key=lambda doc: str(doc.get("entityId") or ""))


def _status_rows(docs: Sequence[Doc]) -> list[Row]:
    return [status_row(doc) for doc in _by_uid(docs)]


def _history_rows(docs: Sequence[Doc]) -> list[Row]:
    return [
        {**entry, "uid": doc.get("entityId")}
        for doc in _by_uid(docs)
        for entry in doc.get("history") or []
        if isinstance(entry, dict)
    ]


def _ngas_rows(docs: Sequence[Doc]) -> list[Row]:
    rows = [{**doc, "name": doc.get("fileId") or doc.get("_id")} for doc in docs]
    return by_key("writeTimestamp", reverse=True)(rows)


def _metadata_rows(docs: Sequence[Doc]) -> list[Row]:
    rows = [{**doc, "productID": doc.get("productID") or doc.get("_id")} for doc in docs]
    return sorted(rows, key=lambda row: (str(row.get("ousUID") or ""), str(row["productID"])))


def _delivery_rows(docs: Sequence[Doc]) -> list[Row]:
    rows = [{**doc, "products": len(doc.get("dataProducts") or [])} for doc in docs]
    return by_key("timestamp", reverse=True)(rows)


def _unread_rows(docs: Sequence[Doc]) -> list[Row]:
    unread = [d for d in docs if d.get("consumed") is False and d.get("selector") is not None]
    return by_key("creationTimestamp")(unread)


def _troubled_message_row(doc: Doc) -> dict[str, Any]:
    """A message with its errors as text: the last, every attempt's, and its re-queues."""
    return {
        **doc,
        "id": doc.get("_id"),
        "error": describe_error(doc.get("error")),
        "errorHistory": describe_error_history(doc.get("errorHistory")),
        "requeues": describe_requeues(doc.get("requeues")),
        "body": summarize_body(doc.get("body")),
    }


def _dead_rows(docs: Sequence[Doc]) -> list[Row]:
    return by_key("creationTimestamp")(_troubled_message_row(doc) for doc in docs)


def _retried_rows(docs: Sequence[Doc]) -> list[Row]:
    rows = [_troubled_message_row(doc) for doc in docs if doc.get("errorHistory")]
    return by_key("creationTimestamp")(rows)


def _fault_rows(docs: Sequence[Doc]) -> list[Row]:
    """Fault events oldest first, each with who it struck and what happened, in words."""
    ordered = sorted(docs, key=lambda doc: (str(doc.get("timestamp")), str(doc.get("_id"))))
    return [{**doc, "actor": fault_actor(doc), "details": describe_fault(doc)} for doc in ordered]


def _liveness_rows(docs: Sequence[Doc]) -> list[Row]:
    seen: dict[str, dict[str, Any]] = {}
    for doc in docs:
        actor = doc.get("handledBy")
        if actor is None:
            continue
        entry = seen.setdefault(
            str(actor), {"actor": str(actor), "lastHandled": None, "handled": 0}
        )
        entry["handled"] += 1
        when = doc.get("handledTimestamp")
        if when is not None and (entry["lastHandled"] is None or str(when) > entry["lastHandled"]):
            entry["lastHandled"] = str(when)
    return sorted(seen.values(), key=lambda row: row["actor"])


def _message_count_rows(docs: Sequence[Doc]) -> list[Row]:
    counts: dict[tuple[str, str], int] = {}
    for doc in docs:
        if doc.get("selector") is not None:
            selector = str(doc["selector"])
            if selector.startswith(MSGBACK_PREFIX):  # one selector per RPC call: count them as one
                selector = MSGBACK_PREFIX + "*"
            key = (selector, str(doc.get("state") or ""))
            counts[key] = counts.get(key, 0) + 1
    return [{"selector": k, "state": st, "messages": n} for (k, st), n in sorted(counts.items())]


# -- the registry -------------------------------------------------------------------

STATUS_FIELDS = (
    "entityId",
    "progID",
    "state",
    "substate",
    "flags",
    "pipeline-recipe",
    "timestamp",
    "problem",
)
"""What the status table (and the board) read of a status entity."""
STATUS_COLUMNS: tuple[str, ...] = ("uid", "progID", "state", "substate", "executive")
STATUS_COLUMNS += ("recipe", "timestamp", "problem")
DEAD_FIELDS: tuple[str, ...] = (
    "_id",
    "selector",
    "error",
    "errorHistory",
    "attempts",
    "creationTimestamp",
)
DEAD_FIELDS += ("sender", "body")
DEAD_COLUMNS = tuple("id" if field == "_id" else field for field in DEAD_FIELDS)
FAULT_DETAILS: tuple[str, ...] = (
    "actor",
    "name",
    "by",
    "listeners",
    "held",
    "lease",
    "began",
    "ended",
)
FAULT_DETAILS += ("seconds", "refused", "message", "selector", "error")
"""What the fault-events table reads of an event besides its kind and time (every
field a fault of ``drwlab.faults`` records)."""

_SPECS = (
    TableSpec(
        name="status-entities",
        caption="Status entities",
        db=STATUS_DB,
        fields=STATUS_FIELDS,
        columns=STATUS_COLUMNS,
        rows=_status_rows,
        on_dashboard=False,  # the dashboard shows them as the board
    ),
    TableSpec(
        name="pipeline-reports",
        caption="Pipeline reports",
        db=REPORTS_DB,
        fields=("ousUID", "source", "timestamp", "productsDir"),
        columns=("ousUID", "source", "timestamp", "productsDir"),
        rows=by_key("timestamp", reverse=True),
        headers={"ousUID": "OUS UID", "source": "Source", "timestamp": "Timestamp"},
    ),
    TableSpec(
        name="delivery-status",
        caption="Delivery status",
        db=DELIVERY_DB,
        fields=("ousUID", "progID", "timestamp", "productsDir", "dataProducts", "complete"),
        columns=("ousUID", "progID", "timestamp", "productsDir", "products", "complete"),
        rows=_delivery_rows,
        headers={
            "timestamp": "Timestamp",
            "progID": "Program ID",
            "ousUID": "OUS UID",
            "products": "Products",
            "complete": "Delivered?",
        },
    ),
    TableSpec(
        name="unread-messages",
        caption="Unread messages",
        db=MSGQ,
        selector={"consumed": False},
        fields=("consumed", "selector", "creationTimestamp", "sender"),
        columns=("selector", "creationTimestamp", "sender"),
        rows=_unread_rows,
        headers={"selector": "Selector", "creationTimestamp": "Timestamp", "sender": "Sender"},
    ),
    TableSpec(
        name="ngas",
        caption="NGAS documents",
        db=NGAS_DB,
        fields=("_id", "fileId", "size", "writeTimestamp", "ousUID"),
        columns=("name", "size", "writeTimestamp", "ousUID"),
        rows=_ngas_rows,
        headers={"name": "NGAS ID", "size": "Size", "writeTimestamp": "Write timestamp"},
    ),
    TableSpec(
        name="products-metadata",
        caption="Products metadata",
        db=METADATA_DB,
        fields=("_id", "productID", "ousUID", "progID", "timestamp"),
        columns=("productID", "ousUID", "progID", "timestamp"),
        rows=_metadata_rows,
        headers={
            "productID": "Product ID",
            "timestamp": "Timestamp",
            "progID": "Program ID",
            "ousUID": "OUS UID",
        },
    ),
    TableSpec(
        name="dead-letters",
        caption="Dead letters",
        db=MSGQ,
        selector={"state": "dead"},
        fields=DEAD_FIELDS,
        columns=DEAD_COLUMNS,
        rows=_dead_rows,
        headers={
            "id": "Message id",
            "selector": "Selector",
            "error": "Error",
            "errorHistory": "Every attempt's error",
            "attempts": "Attempts",
            "creationTimestamp": "Created",
            "body": "Body",
        },
    ),
    TableSpec(
        name="fault-events",
        caption="Faults injected (drwlab.faults)",
        db=FAULTS_DB,
        fields=("_id", "kind", "timestamp", *FAULT_DETAILS),
        columns=("timestamp", "kind", "actor", "details"),
        rows=_fault_rows,
        headers={"timestamp": "When", "kind": "Fault", "actor": "Actor", "details": "What"},
    ),
    TableSpec(
        name="retried-messages",
        caption="Messages that met an error, and what became of them",
        db=MSGQ,
        selector={"errorHistory": {"$exists": True}},
        fields=(*DEAD_FIELDS, "state", "handledBy", "requeues"),
        columns=("id", "selector", "errorHistory", "requeues", "state", "handledBy", "attempts"),
        rows=_retried_rows,
        headers={
            "id": "Message id",
            "selector": "Selector",
            "errorHistory": "Every attempt's error",
            "requeues": "Re-queued",
            "state": "State now",
            "handledBy": "Handled by",
            "attempts": "Attempts",
        },
        on_dashboard=False,
    ),
    TableSpec(
        name="liveness",
        caption="Actor liveness",
        db=MSGQ,
        fields=("handledBy", "handledTimestamp"),
        columns=("actor", "lastHandled", "handled"),
        rows=_liveness_rows,
        headers={"actor": "Actor", "lastHandled": "Last message handled", "handled": "Handled"},
    ),
    TableSpec(
        name="state-history",
        caption="State history",
        db=STATUS_DB,
        fields=("entityId", "history"),
        columns=("uid", "state", "substate", "timestamp", "actor", "reason"),
        rows=_history_rows,
        on_dashboard=False,
    ),
    TableSpec(
        name="messages",
        caption="msgq: messages by selector",
        db=MSGQ,
        fields=("selector", "state"),
        columns=("selector", "state", "messages"),
        rows=_message_count_rows,
        on_dashboard=False,
    ),
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _SPECS}
"""Every table by name, in the order pages show them."""


def databases() -> tuple[str, ...]:
    """The databases the registered tables read: the original's (``wire.DATABASES``, all of
    them, in that order), then any other a table reads (``fault-events``), in registry order.

    A database of the second kind may not exist yet (no fault injected): the views read
    it as empty.
    """
    return tuple(dict.fromkeys([*DATABASES, *(spec.db for spec in TABLES.values())]))


CELL_CLASSES = {"error": "error", "errorHistory": "error", "requeues": "small", "body": "body"}
"""CSS class of the cells of a column, wherever it appears (long, monospaced values)."""
