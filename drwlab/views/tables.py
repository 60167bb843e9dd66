"""The databases as pandas tables: one plain accessor per table, read from any Store.

Every view (notebook widgets, the dashboard page, the HTML report) reads its
data through these functions, so they never disagree. Each query names its
fields, so the large parts of documents (NGAS ``encodedContents``, pipeline
``report``) are never dragged around. Timestamps stay in the wire format
(``2018-07-19T08:50:10.228``, UTC); missing values are ``None``; every frame
has ``object`` columns so values read back exactly as they were written.

``snapshot(store)`` reads everything once (the dashboard's JSON endpoint and
the report use it) and ``change_token(store)`` tells, cheaply, whether
anything changed since the last snapshot.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from drwlab.bus.message import MSGBACK_PREFIX
from drwlab.errors import InvalidMessage
from drwlab.lifecycle import STATES
from drwlab.products import parse_report
from drwlab.store.base import DATABASES, Doc, Seq, Store
from drwlab.timeutil import timestamp

Card = dict[str, Any]
Board = dict[str, list[Card]]
ChangeToken = tuple[Seq, ...]

ALL: dict[str, Any] = {}
"""The Mango selector matching every document."""

EXECUTIVE_FLAG = "PL_PROCESSING_EXECUTIVE"
BODY_SUMMARY_CHARS = 160

STATUS_COLUMNS = (
    "uid",
    "progID",
    "state",
    "substate",
    "executive",
    "recipe",
    "timestamp",
    "problem",
)
HISTORY_COLUMNS = ("uid", "state", "substate", "timestamp", "actor", "reason")
REPORT_COLUMNS = ("ousUID", "source", "timestamp", "productsDir")
NGAS_COLUMNS = ("name", "size", "writeTimestamp", "ousUID")
METADATA_COLUMNS = ("productID", "ousUID", "progID", "timestamp")
DELIVERY_COLUMNS = ("ousUID", "progID", "timestamp", "productsDir", "products", "complete")
UNREAD_COLUMNS = ("selector", "creationTimestamp", "sender")
DEAD_COLUMNS = ("id", "selector", "error", "attempts", "creationTimestamp", "sender", "body")
LIVENESS_COLUMNS = ("actor", "lastHandled", "handled")
QA_COLUMNS = ("ousUID", "timestamp", "stage", "name", "score")
MESSAGE_COUNT_COLUMNS = ("selector", "state", "messages")
_MESSAGE_FIELDS = ["selector", "state", "handledBy", "handledTimestamp"]

_STATUS_FIELDS = ["entityId", "progID", "state", "substate", "flags", "pipeline-recipe"]
_STATUS_FIELDS += ["timestamp", "problem", "history"]


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with exactly ``columns`` (object dtype, None for missing)."""
    data = [[row.get(name) for name in columns] for row in rows]
    return pd.DataFrame(data, columns=list(columns), dtype=object)


def _is_live(doc: Doc) -> bool:
    return not str(doc.get("_id", "")).startswith("_design/")


def _find(store: Store, db: str, selector: Mapping[str, Any], fields: list[str]) -> list[Doc]:
    return [doc for doc in store.find(db, selector, fields=fields) if _is_live(doc)]


# -- status entities ------------------------------------------------------------


def _status_row(doc: Doc) -> dict[str, Any]:
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


def _status_docs(store: Store, *, history: bool) -> list[Doc]:
    fields = _STATUS_FIELDS if history else _STATUS_FIELDS[:-1]
    docs = _find(store, "status-entities", ALL, fields)
    return sorted(docs, key=lambda doc: str(doc.get("entityId") or ""))


def _status_frame(docs: Sequence[Doc]) -> pd.DataFrame:
    return frame((_status_row(doc) for doc in docs), STATUS_COLUMNS)


def _history_frame(docs: Sequence[Doc]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for doc in docs:
        for entry in doc.get("history") or []:
            if isinstance(entry, dict):
                rows.append({**entry, "uid": doc.get("entityId")})
    return frame(rows, HISTORY_COLUMNS)


def _board(docs: Sequence[Doc]) -> Board:
    board: Board = {state.value: [] for state in STATES}
    for doc in sorted(docs, key=lambda doc: str(doc.get("timestamp") or ""), reverse=True):
        row = _status_row(doc)
        card = {key: row[key] for key in ("uid", "substate", "executive", "timestamp")}
        board.setdefault(str(row["state"]), []).append(card)
    return board


def status_entities(store: Store) -> pd.DataFrame:
    """One row per OUS: uid, progID, state, substate, executive, recipe, timestamp, problem."""
    return _status_frame(_status_docs(store, history=False))


def state_history(store: Store) -> pd.DataFrame:
    """One row per state-history entry: uid, state, substate, timestamp, actor, reason."""
    return _history_frame(_status_docs(store, history=True))


def board(store: Store) -> Board:
    """State -> cards (uid, substate, executive, timestamp), newest first.

    Every life-cycle state is a key, in ``lifecycle.STATES`` order, even with
    no OUS in it; a state the life-cycle does not know comes after them.
    """
    return _board(_status_docs(store, history=False))


# -- the other databases ----------------------------------------------------------


def pipeline_reports(store: Store) -> pd.DataFrame:
    """Pipeline reports without their text: ousUID, source, timestamp, productsDir."""
    docs = _find(store, "pipeline-reports", ALL, list(REPORT_COLUMNS))
    docs.sort(key=lambda doc: str(doc.get("timestamp") or ""), reverse=True)
    return frame(docs, REPORT_COLUMNS)


def ngas_files(store: Store) -> pd.DataFrame:
    """NGAS files without their contents: name, size, writeTimestamp, ousUID."""
    docs = _find(store, "ngas", ALL, ["_id", "fileId", "size", "writeTimestamp", "ousUID"])
    rows = [{**doc, "name": doc.get("fileId") or doc.get("_id")} for doc in docs]
    rows.sort(key=lambda row: str(row.get("writeTimestamp") or ""), reverse=True)
    return frame(rows, NGAS_COLUMNS)


def qa_scores(store: Store, uid: str | None = None) -> pd.DataFrame:
    """The QA scores in the pipeline reports: ousUID, timestamp, stage, name, score.

    The base64 report of each run (of OUS ``uid`` only, if given) is decoded and
    parsed with ``drwlab.products.parse_report``; an unreadable report gives one
    row with ``stage`` None and the reason in ``name``.
    """
    selector = {"ousUID": uid} if uid is not None else ALL
    docs = _find(store, "pipeline-reports", selector, ["ousUID", "timestamp", "report"])
    docs.sort(key=lambda doc: (str(doc.get("ousUID") or ""), str(doc.get("timestamp") or "")))
    rows: list[dict[str, Any]] = []
    for doc in docs:
        run = {"ousUID": doc.get("ousUID"), "timestamp": doc.get("timestamp")}
        try:
            xml_text = base64.b64decode(str(doc.get("report") or ""), validate=True).decode()
            report = parse_report(xml_text)
        except (ValueError, InvalidMessage) as error:
            rows.append({**run, "stage": None, "name": f"unreadable report: {error}"})
            continue
        rows += [{**run, **score} for score in report.to_rows()]
    return frame(rows, QA_COLUMNS)


def products_metadata(store: Store) -> pd.DataFrame:
    """Products metadata: productID, ousUID, progID, timestamp."""
    docs = _find(store, "products-metadata", ALL, ["_id", *METADATA_COLUMNS])
    rows = [{**doc, "productID": doc.get("productID") or doc.get("_id")} for doc in docs]
    rows.sort(key=lambda row: (str(row.get("ousUID") or ""), str(row["productID"])))
    return frame(rows, METADATA_COLUMNS)


def delivery_status(store: Store) -> pd.DataFrame:
    """Delivery status: ousUID, progID, timestamp, productsDir, products (count), complete."""
    fields = ["ousUID", "progID", "timestamp", "productsDir", "dataProducts", "complete"]
    docs = _find(store, "delivery-status", ALL, fields)
    rows = [{**doc, "products": len(doc.get("dataProducts") or [])} for doc in docs]
    rows.sort(key=lambda row: str(row.get("timestamp") or ""), reverse=True)
    return frame(rows, DELIVERY_COLUMNS)


def _unread(docs: Iterable[Doc]) -> pd.DataFrame:
    unread = [d for d in docs if d.get("consumed") is False and d.get("selector") is not None]
    unread.sort(key=lambda doc: str(doc.get("creationTimestamp") or ""))
    return frame(unread, UNREAD_COLUMNS)


def unread_messages(store: Store) -> pd.DataFrame:
    """Messages not consumed yet: selector, creationTimestamp, sender (oldest first)."""
    return _unread(_find(store, "msgq", {"consumed": False}, ["consumed", *UNREAD_COLUMNS]))


def summarize_body(body: Any, limit: int = BODY_SUMMARY_CHARS) -> str:
    """A message body as one line of JSON, cut to ``limit`` characters."""
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def describe_error(error: Any) -> str | None:
    """The bus's error record (``{"type", "message", ...}``) or a plain string, as one line."""
    if error is None or isinstance(error, str):
        return error
    if isinstance(error, dict) and ("type" in error or "message" in error):
        kind, message = error.get("type"), error.get("message")
        return f"{kind}: {message}" if kind and message is not None else str(message or kind)
    return summarize_body(error)


def dead_letters(store: Store) -> pd.DataFrame:
    """Dead-lettered messages: id, selector, error, attempts, creationTimestamp, sender, body."""
    fields = ["_id", "selector", "error", "attempts", "creationTimestamp", "sender", "body"]
    docs = _find(store, "msgq", {"state": "dead"}, fields)
    rows = [
        {
            **doc,
            "id": doc.get("_id"),
            "error": describe_error(doc.get("error")),
            "body": summarize_body(doc.get("body")),
        }
        for doc in docs
    ]
    rows.sort(key=lambda row: str(row.get("creationTimestamp") or ""))
    return frame(rows, DEAD_COLUMNS)


def _liveness(docs: Iterable[Doc]) -> pd.DataFrame:
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
    return frame(sorted(seen.values(), key=lambda row: row["actor"]), LIVENESS_COLUMNS)


def actor_liveness(store: Store) -> pd.DataFrame:
    """Per actor (``handledBy``): lastHandled timestamp and how many messages it handled."""
    fields = ["handledBy", "handledTimestamp"]
    return _liveness(_find(store, "msgq", {"handledBy": {"$exists": True}}, fields))


def _message_counts(docs: Iterable[Doc]) -> pd.DataFrame:
    counts: dict[tuple[str, str], int] = {}
    for doc in docs:
        if doc.get("selector") is not None:
            selector = str(doc["selector"])
            if selector.startswith(MSGBACK_PREFIX):  # one selector per RPC call: count them as one
                selector = MSGBACK_PREFIX + "*"
            key = (selector, str(doc.get("state") or ""))
            counts[key] = counts.get(key, 0) + 1
    rows = [{"selector": k, "state": st, "messages": n} for (k, st), n in sorted(counts.items())]
    return frame(rows, MESSAGE_COUNT_COLUMNS)


def message_counts(store: Store) -> pd.DataFrame:
    """How many messages each selector has in each state: selector, state, messages."""
    return _message_counts(_find(store, "msgq", ALL, ["selector", "state"]))


# -- snapshot and change token ------------------------------------------------------


def change_token(store: Store, databases: Sequence[str] = DATABASES) -> ChangeToken:
    """The current seq of every database: equal tokens mean nothing changed in between."""
    return tuple(store.current_seq(db) for db in databases)


@dataclass(frozen=True)
class Snapshot:
    """Every table read once, with the change token read just before."""

    token: ChangeToken
    taken_at: str
    status: pd.DataFrame
    history: pd.DataFrame
    board: Board
    pipeline_reports: pd.DataFrame
    ngas: pd.DataFrame
    products_metadata: pd.DataFrame
    delivery_status: pd.DataFrame
    unread_messages: pd.DataFrame
    dead_letters: pd.DataFrame
    liveness: pd.DataFrame
    messages: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in the order the dashboard shows them."""
        return {
            "status-entities": self.status,
            "pipeline-reports": self.pipeline_reports,
            "delivery-status": self.delivery_status,
            "unread-messages": self.unread_messages,
            "ngas": self.ngas,
            "products-metadata": self.products_metadata,
            "dead-letters": self.dead_letters,
            "liveness": self.liveness,
            "state-history": self.history,
            "messages": self.messages,
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the token, the time, the board and every table as a list of records."""
        tables = {name: records(table) for name, table in self.frames().items()}
        return {
            "token": [str(seq) for seq in self.token],
            "takenAt": self.taken_at,
            "board": self.board,
            "tables": tables,
        }


def _status_parts(store: Store) -> dict[str, Any]:
    docs = _status_docs(store, history=True)
    return {"status": _status_frame(docs), "history": _history_frame(docs), "board": _board(docs)}


def _msgq_parts(store: Store) -> dict[str, Any]:
    docs = _find(store, "msgq", ALL, _MESSAGE_FIELDS)  # one scan for two tables
    return {
        "unread_messages": unread_messages(store),
        "liveness": _liveness(docs),
        "messages": _message_counts(docs),
        "dead_letters": dead_letters(store),
    }


_READERS: dict[str, Callable[[Store], dict[str, Any]]] = {
    "msgq": _msgq_parts,
    "status-entities": _status_parts,
    "pipeline-reports": lambda store: {"pipeline_reports": pipeline_reports(store)},
    "ngas": lambda store: {"ngas": ngas_files(store)},
    "products-metadata": lambda store: {"products_metadata": products_metadata(store)},
    "delivery-status": lambda store: {"delivery_status": delivery_status(store)},
}
_PARTS = {
    "msgq": ("unread_messages", "liveness", "messages", "dead_letters"),
    "status-entities": ("status", "history", "board"),
    "pipeline-reports": ("pipeline_reports",),
    "ngas": ("ngas",),
    "products-metadata": ("products_metadata",),
    "delivery-status": ("delivery_status",),
}


def snapshot(store: Store, previous: Snapshot | None = None) -> Snapshot:
    """Read every table once (the status entities once for status, board and history).

    With ``previous``, the tables of a database whose seq has not moved since
    are taken from it instead of being read again.
    """
    token = change_token(store)
    before = dict(zip(DATABASES, previous.token, strict=True)) if previous else {}
    parts: dict[str, Any] = {}
    for db, seq in zip(DATABASES, token, strict=True):
        if previous is not None and before.get(db) == seq:
            parts.update({name: getattr(previous, name) for name in _PARTS[db]})
        else:
            parts.update(_READERS[db](store))
    return Snapshot(token=token, taken_at=timestamp(), **parts)


def plain(value: Any) -> Any:
    """A table cell as a plain JSON value: NaN/NA -> None, numpy scalars -> Python."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, dict, str)):
        return plain(item())
    return value


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``table`` as JSON-ready dicts."""
    columns = [str(name) for name in table.columns]
    return [
        dict(zip(columns, map(plain, row), strict=True)) for row in table.itertuples(index=False)
    ]
