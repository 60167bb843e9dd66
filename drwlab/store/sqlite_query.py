"""How a Mango query becomes SQL over the SQLite backend's ``docs`` table.

A field is reached with ``json_extract(body, '$."a"."b"')`` and paired with
its CouchDB type rank (``json_type`` mapped to null=0 ... object=6), so that
ordering by (rank, value) is CouchDB collation for null, booleans, numbers
and strings (strings by code point, as in :mod:`drwlab.store.mango`). An
index made by ``ensure_index`` holds exactly these expressions, partial on
one database's live documents, and the queries written here repeat them
verbatim: that is what lets SQLite answer a filter, a sort and a limit from
the index alone.

Top-level scalar equalities become SQL conditions (exactly equivalent ones);
everything else is left to the Python matcher. When the SQL conditions are
the whole selector the matcher is skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from drwlab.store import mango

_TYPE_RANK = {
    **{"null": 0, "false": 1, "true": 2, "integer": 3, "real": 3},
    **{"text": 4, "array": 5, "object": 6},
}
_SQL_KEY = re.compile(r'[^"\\\x00]*')
_SCALAR_RANKS = 4
"""Ranks above this (arrays, objects) are not in CouchDB order in SQL."""


def literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def key_columns(path: mango.Path) -> tuple[str, ...] | None:
    """SQL for a field's (type rank, value), ``("id",)`` for ``_id``; None if out of reach.

    Numeric segments (array indexes in Mango) and quotes stay with the Python matcher.
    """
    if path == ("_id",):
        return ("id",)
    if any(part.isdigit() or not _SQL_KEY.fullmatch(part) for part in path):
        return None
    json_path = literal("$" + "".join(f'."{part}"' for part in path))
    cases = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in _TYPE_RANK.items())
    return f"CASE json_type(body, {json_path}) {cases} END", f"json_extract(body, {json_path})"


def _sql_scalar(value: Any) -> tuple[int, Any] | None:
    """(CouchDB rank, SQL value) of a value SQL compares exactly as Mango does, else None."""
    if value is None:
        return 0, None
    if isinstance(value, bool):
        return (2 if value else 1), int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)  # other floats: SQLite's text-to-double might round differently
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return 3, value
    if isinstance(value, str) and "\x00" not in value:
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate cannot be bound
            return None
        return 4, value
    return None


@dataclass
class Filter:
    """SQL conditions that every match of a selector meets, with their parameters."""

    db: str
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    exact: bool = False
    """True when the conditions are the whole selector (no need to match in Python)."""

    def sql(self, order_by: str = "") -> str:
        # The literal db (not a parameter) lets SQLite use the partial indexes.
        conditions = " AND ".join([f"db = {literal(self.db)}", "deleted = 0", *self.where])
        return f"SELECT body FROM docs WHERE {conditions}" + (
            f" ORDER BY {order_by}" if order_by else ""
        )


def selector_filter(db: str, node: mango.Node) -> Filter:
    """The SQL conditions equivalent to the top-level scalar equalities of ``node``."""
    result = Filter(db)
    pushed = 0
    strings = False
    for path, value in mango.equalities(node):
        columns, scalar = key_columns(path), _sql_scalar(value)
        if columns is None or scalar is None:
            continue
        pushed += 1
        if len(columns) == 1:
            if scalar[0] != 4:
                result.where.append("0")  # _id is a string: nothing else equals it
            else:
                result.where.append(f"{columns[0]} = ?")
                result.params.append(scalar[1])
            continue
        strings = strings or isinstance(value, str)
        result.where.append(f"{columns[0]} = {scalar[0]}")
        if scalar[1] is not None:
            result.where.append(f"{columns[1]} = ?")
            result.params.append(scalar[1])
    # SQLite reads a string with a NUL in it only up to the NUL, so a pushed string
    # equality is a pre-filter, not the answer: the Python matcher checks it
    result.exact = pushed == _count_conditions(node) and not strings
    texts = required_texts(node)
    if not result.exact and texts:
        # a necessary condition only: the Python matcher still decides
        result.where.append("(" + " OR ".join(["instr(body, ?) > 0"] * len(texts)) + ")")
        result.params.extend(texts)
    return result


_REGEX_SYNTAX = frozenset(".^$*+?{}[]\\|()")
MAX_TEXTS = 16
"""Most alternative texts in one pre-filter (more would cost more than they save)."""


def required_texts(node: mango.Node) -> list[str] | None:
    """Texts of which the stored JSON of every match contains at least one; None if unknown.

    A string compared with ``$eq`` appears in the document's JSON exactly as
    ``json.dumps`` writes it (the store writes bodies so), and a ``$regex``
    without regex syntax is a plain substring, whose JSON escape is then a
    substring of the value's (JSON escapes each character on its own). SQLite's
    ``instr`` can thus skip, before any JSON is decoded, the documents that
    cannot match: finding one OUS's messages among 12,000 decodes a dozen.
    """
    if isinstance(node, mango.Condition):
        if node.path[0] in ("_id", "_rev"):
            return None  # kept in columns, not (only) in the body
        if node.op == "$eq" and type(node.arg) is str:
            return [json.dumps(node.arg)]
        if node.op == "$regex" and node.arg and not _REGEX_SYNTAX.intersection(node.arg):
            return [json.dumps(node.arg)[1:-1]]
        return None
    found = [required_texts(child) for child in node.children]
    if node.op == "$or":
        if any(texts is None for texts in found):
            return None
        union = [text for texts in found if texts for text in texts]
        return union if len(union) <= MAX_TEXTS else None
    return next((texts for texts in found if texts), None)  # $and: any one will do


def _count_conditions(node: mango.Node) -> int:
    if isinstance(node, mango.Condition):
        return 1
    if node.op == "$or":
        return -1  # never equal to a count of pushed equalities
    counts = [_count_conditions(child) for child in node.children]
    return -1 if -1 in counts else sum(counts)


def order_by(found: Filter, paths: list[mango.Path], descending: bool) -> str | None:
    """ORDER BY for a Mango sort (adding "field exists" to ``found``), None if out of reach."""
    keys = [key_columns(path) for path in paths]
    if not all(keys):
        return None
    direction = " DESC" if descending else ""
    terms = []
    for key in keys:
        assert key is not None
        found.where.append(f"{key[0]} IS NOT NULL")
        terms += [column + direction for column in key]
    return ", ".join([*terms, "id" + direction])


def index_name(db: str, fields: Sequence[str]) -> str:
    spec = json.dumps([db, list(fields)])
    return "mango_" + hashlib.sha1(spec.encode()).hexdigest()[:24]


def create_index_sql(db: str, fields: Sequence[str]) -> str | None:
    """CREATE INDEX for ``ensure_index`` (None if a field is out of SQL's reach)."""
    keys = [key_columns(path) for path in mango.parse_fields(fields)]
    if not all(keys):
        return None
    columns = ", ".join(column for key in keys if key for column in key)
    return (
        f'CREATE INDEX IF NOT EXISTS "{index_name(db, fields)}" ON docs ({columns}, id) '
        f"WHERE db = {literal(db)} AND deleted = 0"
    )


def take(
    rows: sqlite3.Cursor,
    node: mango.Node | None,
    wanted: int | None,
    sort_paths: Sequence[mango.Path] = (),
) -> list[Any] | None:
    """Documents of ``rows`` matching ``node`` (None: all) in order, until ``wanted``.

    Documents lacking a sort field are left out. None when a match sorts on an
    array or object, whose SQL order is not CouchDB's: sort in Python then.
    """
    found: list[Any] = []
    try:
        for (body,) in rows:
            if wanted is not None and len(found) >= wanted:
                break
            doc = json.loads(body)
            if node is not None and not node.matches(doc):
                continue
            keys = [mango.get_field(doc, path) for path in sort_paths]
            if any(key is mango.MISSING or key is mango.BAD_PATH for key in keys):
                continue
            if any(mango.type_rank(key) > _SCALAR_RANKS for key in keys):
                return None
            found.append(doc)
    finally:
        rows.close()
    return found
