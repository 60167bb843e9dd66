"""Read models: the databases as pandas tables, read from any Store (no HTML, no threads).

Every view (notebook widgets, the dashboard page, the HTML report) reads its
data here, so they never disagree. Each table is an entry of
``views.registry.TABLES``; :func:`read_table` reads one, :func:`snapshot`
reads them all at once (tables on the same query share one read). Each
query names its fields, so the large parts of documents (NGAS
``encodedContents``, pipeline ``report``) are never dragged around.
Timestamps stay in the wire format (``2018-07-19T08:50:10.228``, UTC);
missing values are ``None``; every frame has ``object`` columns so values
read back exactly as they were written.

``change_token(store)`` tells, cheaply, whether anything changed since the
last snapshot.

The databases read are those of the registry (``registry.databases()``): the
original's, and ``fault-events``, which exists only once a fault was injected.
A database that does not exist (yet) reads as empty tables, never as an error.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from drwlab.errors import InvalidMessage, NotFound
from drwlab.lifecycle import STATES
from drwlab.products import parse_report
from drwlab.store.base import Doc, Seq, Store
from drwlab.timeutil import timestamp
from drwlab.views.cells import describe_error as describe_error  # re-exported
from drwlab.views.cells import summarize_body as summarize_body  # re-exported
from drwlab.views.registry import ALL, STATUS_FIELDS, TABLES, TableSpec, status_row
from drwlab.views.registry import databases as databases_read
from drwlab.wire import MSGQ, REPORTS_DB, STATUS_DB

Card = dict[str, Any]
Board = dict[str, list[Card]]
ChangeToken = tuple[Seq | None, ...]
"""The seq of each database read (None for one that does not exist)."""

QA_COLUMNS = ("ousUID", "timestamp", "stage", "name", "score")
MESSAGE_COLUMNS = (
    "selector",
    "state",
    "consumed",
    "attempts",
    "claimedBy",
    "handledBy",
    "creationTimestamp",
    "error",
)


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with exactly ``columns`` (object dtype, None for missing)."""
    data = [[row.get(name) for name in columns] for row in rows]
    return pd.DataFrame(data, columns=list(columns), dtype=object)


def _is_live(doc: Doc) -> bool:
    return not str(doc.get("_id", "")).startswith("_design/")


def _find(store: Store, db: str, selector: Mapping[str, Any], fields: Iterable[str]) -> list[Doc]:
    """The live documents of ``db`` matching ``selector``; none if ``db`` does not exist."""
    try:
        found = store.find(db, dict(selector), fields=list(dict.fromkeys(fields)))
    except NotFound:  # fault-events before the first fault, any database before its first use
        return []
    return [doc for doc in found if _is_live(doc)]


def table_of(spec: TableSpec, docs: Sequence[Doc]) -> pd.DataFrame:
    """The table ``spec`` makes of ``docs`` (documents its query found)."""
    return frame(spec.rows(docs), spec.columns)


def read_table(store: Store, name: str) -> pd.DataFrame:
    """Read the table ``name`` (a key of ``registry.TABLES``) from ``store``."""
    try:
        spec = TABLES[name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}; tables are {', '.join(TABLES)}") from None
    return table_of(spec, _find(store, spec.db, spec.selector, spec.fields))


def _board(docs: Sequence[Doc]) -> Board:
    board: Board = {state.value: [] for state in STATES}
    for doc in sorted(docs, key=lambda doc: str(doc.get("timestamp") or ""), reverse=True):
        row = status_row(doc)
        card = {key: row[key] for key in ("uid", "substate", "executive", "timestamp")}
        board.setdefault(str(row["state"]), []).append(card)
    return board


def board(store: Store) -> Board:
    """State -> cards (uid, substate, executive, timestamp), newest first.

    Every life-cycle state is a key, in ``lifecycle.STATES`` order, even with
    no OUS in it; a state the life-cycle does not know comes after them.
    """
    return _board(_find(store, STATUS_DB, ALL, STATUS_FIELDS))


# -- one accessor per table (what notebooks and tests call) ----------------------------


def status_entities(store: Store) -> pd.DataFrame:
    """One row per OUS: uid, progID, state, substate, executive, recipe, timestamp, problem."""
    return read_table(store, "status-entities")


def state_history(store: Store) -> pd.DataFrame:
    """One row per state-history entry: uid, state, substate, timestamp, actor, reason."""
    return read_table(store, "state-history")


def pipeline_reports(store: Store) -> pd.DataFrame:
    """Pipeline reports without their text: ousUID, source, timestamp, productsDir."""
    return read_table(store, "pipeline-reports")


def ngas_files(store: Store) -> pd.DataFrame:
    """NGAS files without their contents: name, size, writeTimestamp, ousUID."""
    return read_table(store, "ngas")


def products_metadata(store: Store) -> pd.DataFrame:
    """Products metadata: productID, ousUID, progID, timestamp."""
    return read_table(store, "products-metadata")


def delivery_status(store: Store) -> pd.DataFrame:
    """Delivery status: ousUID, progID, timestamp, productsDir, products (count), complete."""
    return read_table(store, "delivery-status")


def unread_messages(store: Store) -> pd.DataFrame:
    """Messages not consumed yet: selector, creationTimestamp, sender (oldest first)."""
    return read_table(store, "unread-messages")


def dead_letters(store: Store) -> pd.DataFrame:
    """Dead-lettered messages: id, selector, error, errorHistory (every attempt's error, one
    line each), attempts, creationTimestamp, sender, body."""
    return read_table(store, "dead-letters")


def injected_faults(store: Store) -> pd.DataFrame:
    """The faults ``drwlab.faults`` injected, oldest first: timestamp, kind, actor, details
    (what happened, in words); empty where no fault was ever injected."""
    return read_table(store, "fault-events")


def retried_messages(store: Store) -> pd.DataFrame:
    """Messages that met an error, oldest first: id, selector, errorHistory (one line per
    failure), requeues, state, handledBy, attempts: how each fault healed, or did not."""
    return read_table(store, "retried-messages")


def actor_liveness(store: Store) -> pd.DataFrame:
    """Per actor (``handledBy``): lastHandled timestamp and how many messages it handled."""
    return read_table(store, "liveness")


def message_counts(store: Store) -> pd.DataFrame:
    """How many messages each selector has in each state: selector, state, messages."""
    return read_table(store, "messages")


def qa_scores(store: Store, uid: str | None = None) -> pd.DataFrame:
    """The QA scores in the pipeline reports: ousUID, timestamp, stage, name, score.

    The base64 report of each run (of OUS ``uid`` only, if given) is decoded and
    parsed with ``drwlab.products.parse_report``; an unreadable report gives one
    row with ``stage`` None and the reason in ``name``.
    """
    selector = {"ousUID": uid} if uid is not None else ALL
    docs = _find(store, REPORTS_DB, selector, ["ousUID", "timestamp", "report"])
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


def bus_messages(store: Store, prefix: str = "") -> pd.DataFrame:
    """The ``msgq`` messages whose selector starts with ``prefix``, oldest first: selector,
    state, consumed, attempts, claimedBy, handledBy, creationTimestamp, error."""
    selector: dict[str, Any] = {"selector": {"$regex": "^" + _regex_escape(prefix)}}
    docs = store.find(MSGQ, selector)
    docs.sort(key=lambda doc: (str(doc.get("creationTimestamp")), str(doc.get("_id"))))
    return frame(docs, MESSAGE_COLUMNS)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?{}[]\\|()" else c for c in text)


def entity_history(store: Store, uid: str) -> pd.DataFrame:
    """The state history of one OUS: state, substate, timestamp, actor, reason."""
    history = state_history(store)
    rows = history[history["uid"] == uid]
    return rows.drop(columns=["uid"]).reset_index(drop=True)


# -- snapshot and change token ------------------------------------------------------


def change_token(store: Store, databases: Sequence[str] | None = None) -> ChangeToken:
    """The current seq of every database of ``databases`` (default: those the tables read),
    None for one that does not exist: equal tokens mean nothing changed in between."""
    chosen = databases_read() if databases is None else databases
    return tuple(_current_seq(store, db) for db in chosen)


def _current_seq(store: Store, db: str) -> Seq | None:
    try:
        return store.current_seq(db)
    except NotFound:
        return None


@dataclass(frozen=True)
class Snapshot:
    """Every registered table read once (and the board), with the change token read before."""

    token: ChangeToken
    taken_at: str
    tables: Mapping[str, pd.DataFrame]
    board: Board
    databases: tuple[str, ...]
    """The databases read, in the order of ``token``."""

    def __getitem__(self, name: str) -> pd.DataFrame:
        """The table ``name`` (a key of ``registry.TABLES``)."""
        return self.tables[name]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in registry order."""
        return {name: self.tables[name] for name in TABLES if name in self.tables}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the token, the time, the board and every table as a list of records."""
        tables = {name: records(table) for name, table in self.frames().items()}
        return {
            "token": [str(seq) for seq in self.token],
            "takenAt": self.taken_at,
            "board": self.board,
            "tables": tables,
        }


def _read_database(store: Store, db: str) -> tuple[dict[str, pd.DataFrame], Board | None]:
    """Every table of ``db`` (one read per distinct query), and the board if ``db`` has it."""
    queries: dict[tuple[str, str], list[TableSpec]] = {}
    for spec in TABLES.values():
        if spec.db == db:
            queries.setdefault(spec.query_key, []).append(spec)
    found: dict[str, pd.DataFrame] = {}
    status_docs: list[Doc] | None = None
    for specs in queries.values():
        fields = [name for spec in specs for name in spec.fields]
        is_status_scan = db == STATUS_DB and not specs[0].selector
        if is_status_scan:
            fields += STATUS_FIELDS
        docs = _find(store, db, specs[0].selector, fields)
        found.update({spec.name: table_of(spec, docs) for spec in specs})
        if is_status_scan:
            status_docs = docs
    if db == STATUS_DB and status_docs is None:
        status_docs = _find(store, STATUS_DB, ALL, STATUS_FIELDS)
    return found, None if status_docs is None else _board(status_docs)


def snapshot(store: Store, previous: Snapshot | None = None) -> Snapshot:
    """Read every table once (tables on the same query from one read).

    With ``previous``, the tables of a database whose seq has not moved since
    are taken from it instead of being read again.
    """
    read = databases_read()
    token = change_token(store, read)
    before = dict(zip(previous.databases, previous.token, strict=True)) if previous else {}
    found: dict[str, pd.DataFrame] = {}
    the_board: Board | None = None
    for db, seq in zip(read, token, strict=True):
        if previous is not None and db in before and before[db] == seq:
            found.update(
                {n: t for n, t in previous.tables.items() if n in TABLES and TABLES[n].db == db}
            )
            the_board = previous.board if db == STATUS_DB else the_board
            continue
        tables, board_of_db = _read_database(store, db)
        found.update(tables)
        the_board = board_of_db if board_of_db is not None else the_board
    ordered = {name: found[name] for name in TABLES if name in found}
    return Snapshot(
        token=token, taken_at=timestamp(), tables=ordered, board=the_board or {}, databases=read
    )


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
