"""Mango selectors, sorts and projections evaluated in Python, as CouchDB does.

Pure functions over JSON-like values (no I/O), shared by every backend that
has to evaluate a query itself. The semantics follow CouchDB's
``mango_selector.erl``:

- a selector is normalised first: a bare value means ``$eq``; several members
  of one object are an implicit ``$and``; an object without operators reaches
  into a nested object (``{"a": {"b": 1}}`` is ``{"a.b": 1}``); ``$and`` and
  ``$or`` may appear at the top or under a field;
- dotted paths reach into nested objects, and a numeric segment indexes an
  array; a path running into a scalar matches nothing;
- a missing field matches nothing but ``{"$exists": false}`` (so ``$ne`` does
  *not* match a document without the field);
- values compare by CouchDB's collation across types:
  ``null < false < true < numbers < strings < arrays < objects``; arrays
  element by element, objects member by member in their stored order.

Two deliberate differences from CouchDB, both documented here once:

- strings compare by code point (CouchDB's ``_id`` order, and PouchDB's), not
  by ICU collation as CouchDB does for other fields: ``"B" < "a"`` here;
- ``$regex`` is Python's ``re.search``, not PCRE (the common syntax agrees).

Sorting: like a CouchDB index, :func:`sort_docs` leaves out documents that
lack a sort field, ties are broken by ``_id`` in the sort's direction, and all
fields must sort in one direction (CouchDB refuses mixed directions).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drwlab.errors import InvalidQuery

Path = tuple[str, ...]

OPERATORS = frozenset(
    ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$regex", "$exists", "$and", "$or")
)
_COMPARISONS = {
    "$eq": lambda c: c == 0,
    "$ne": lambda c: c != 0,
    "$gt": lambda c: c > 0,
    "$gte": lambda c: c >= 0,
    "$lt": lambda c: c < 0,
    "$lte": lambda c: c <= 0,
}
_INDEX = re.compile(r"[+-]?[0-9]+")
_SPLIT = re.compile(r"(?<!\\)\.")


class _Absent:
    """Why a path found no value: the field is missing, or the path hit a scalar."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING = _Absent("MISSING")
BAD_PATH = _Absent("BAD_PATH")


# -- collation ------------------------------------------------------------------


_RANK_OF_TYPE = {type(None): 0, int: 3, float: 3, str: 4, list: 5, tuple: 5, dict: 6}


def type_rank(value: Any) -> int:
    """Position of a value's type in CouchDB collation (null=0 ... object=6)."""
    rank = _RANK_OF_TYPE.get(type(value))
    if rank is not None:
        return rank
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    if isinstance(value, (int, float)):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, (list, tuple)):
        return 5
    if isinstance(value, Mapping):
        return 6
    raise InvalidQuery(f"not a JSON value: {value!r}")


def collate(a: Any, b: Any) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` in CouchDB collation."""
    rank_a, rank_b = type_rank(a), type_rank(b)
    if rank_a != rank_b:
        return -1 if rank_a < rank_b else 1
    if rank_a in (3, 4):
        return int(a > b) - int(a < b)
    if rank_a == 5:
        return _collate_pairs(zip(a, b, strict=False), len(a), len(b))
    if rank_a == 6:
        for (key_a, value_a), (key_b, value_b) in zip(a.items(), b.items(), strict=False):
            order = collate(key_a, key_b) or collate(value_a, value_b)
            if order:
                return order
        return (len(a) > len(b)) - (len(a) < len(b))
    return 0


def _collate_pairs(pairs: Iterable[tuple[Any, Any]], len_a: int, len_b: int) -> int:
    for item_a, item_b in pairs:
        order = collate(item_a, item_b)
        if order:
            return order
    return (len_a > len_b) - (len_a < len_b)


# -- paths ----------------------------------------------------------------------


def split_path(name: str) -> Path:
    """``"a.b"`` -> ``("a", "b")``; ``"a\\.b"`` names the one field ``"a.b"``."""
    if not isinstance(name, str) or name == "":
        raise InvalidQuery(f"a field name must be a non-empty string, not {name!r}")
    parts = tuple(part.replace("\\.", ".") for part in _SPLIT.split(name))
    if "" in parts:
        raise InvalidQuery(f"empty segment in field name {name!r}")
    return parts


def get_field(doc: Any, path: Path) -> Any:
    """The value at ``path``, or ``MISSING`` / ``BAD_PATH`` (both never match)."""
    value = doc
    for part in path:
        if isinstance(value, (dict, Mapping)):  # dict first: the fast check
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list) and _INDEX.fullmatch(part):
            position = int(part)
            if not 0 <= position < len(value):
                return BAD_PATH
            value = value[position]
        else:
            return BAD_PATH
    return value


# -- selectors ------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One operator applied to the value at one path (a normalised leaf)."""

    path: Path
    op: str
    arg: Any
    regex: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, doc: Any) -> bool:
        value = get_field(doc, self.path)
        if self.op == "$eq" and type(self.arg) is str:  # the common case, without collate
            return isinstance(value, str) and value == self.arg
        if value is MISSING:
            return self.op == "$exists" and self.arg is False
        if value is BAD_PATH:
            return False
        if self.op == "$exists":
            return bool(self.arg)
        if self.op == "$regex":
            return (
                isinstance(value, str) and self.regex is not None and bool(self.regex.search(value))
            )
        if self.op == "$in":
            values = value if isinstance(value, list) else [value]
            return any(collate(v, a) == 0 for a in self.arg for v in values)
        return bool(_COMPARISONS[self.op](collate(value, self.arg)))


@dataclass(frozen=True)
class Combination:
    """``$and`` (all children match; none is all) or ``$or`` (any child matches)."""

    op: str
    children: tuple[Node, ...]

    @property
    def matches_everything(self) -> bool:
        """True for the empty selector ``{}`` (an ``$and`` of nothing)."""
        return self.op == "$and" and not self.children

    def matches(self, doc: Any) -> bool:
        if self.op == "$and":
            return all(child.matches(doc) for child in self.children)
        return any(child.matches(doc) for child in self.children)


Node = Condition | Combination


def parse_selector(selector: Any) -> Node:
    """Validate and normalise a selector; InvalidQuery if it is outside our subset."""
    if not isinstance(selector, Mapping):
        raise InvalidQuery(f"a selector must be a JSON object, not {selector!r}")
    return _parse_object(selector, ())


def _parse_object(obj: Mapping[str, Any], path: Path) -> Node:
    nodes = [_parse_member(key, value, path) for key, value in obj.items()]
    return nodes[0] if len(nodes) == 1 else Combination("$and", tuple(nodes))


def _parse_member(key: Any, value: Any, path: Path) -> Node:
    if not isinstance(key, str):
        raise InvalidQuery(f"selector keys must be strings, not {key!r}")
    if key in ("$and", "$or"):
        if not isinstance(value, (list, tuple)):
            raise InvalidQuery(f"{key} needs a list, not {value!r}")
        if not path and not all(isinstance(item, Mapping) for item in value):
            raise InvalidQuery(f"{key} at the top needs a list of selectors, not {value!r}")
        return Combination(key, tuple(_parse_condition(item, path) for item in value))
    if key.startswith("$"):
        if key not in OPERATORS:
            raise InvalidQuery(f"unsupported operator {key!r} (supported: {sorted(OPERATORS)})")
        if not path:
            raise InvalidQuery(f"operator {key!r} needs a field: {{field: {{{key}: ...}}}}")
        return _condition(path, key, value)
    return _parse_condition(value, path + split_path(key))


def _parse_condition(value: Any, path: Path) -> Node:
    if isinstance(value, Mapping) and (value or not path):
        return _parse_object(value, path)
    if not path:
        raise InvalidQuery(f"a bare value needs a field: {value!r}")
    return _condition(path, "$eq", value)


def _condition(path: Path, op: str, arg: Any) -> Condition:
    if op == "$in" and not isinstance(arg, (list, tuple)):
        raise InvalidQuery(f"$in needs a list, not {arg!r}")
    if op == "$exists" and not isinstance(arg, bool):
        raise InvalidQuery(f"$exists needs true or false, not {arg!r}")
    if op == "$regex":
        if not isinstance(arg, str):
            raise InvalidQuery(f"$regex needs a string, not {arg!r}")
        try:
            return Condition(path, op, arg, re.compile(arg))
        except re.error as error:
            raise InvalidQuery(f"bad $regex {arg!r}: {error}") from None
    _check_json(arg)
    return Condition(path, op, arg)


def _check_json(value: Any) -> None:
    type_rank(value)
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_json(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            _check_json(item)


def validate_selector(selector: Any) -> None:
    """Raise InvalidQuery unless ``selector`` is a valid selector of our subset."""
    parse_selector(selector)


def matches(doc: Mapping[str, Any], selector: Mapping[str, Any]) -> bool:
    """Whether ``doc`` matches ``selector`` (InvalidQuery for a bad selector)."""
    return parse_selector(selector).matches(doc)


def to_selector(node: Node) -> dict[str, Any]:
    """A parsed selector written back in CouchDB's normal form: dotted paths, explicit
    operators, explicit ``$and`` (what a server gets most reliably: pouchdb-server
    fails on ``{"a": {"b": 1}}`` for documents without ``a``)."""
    if isinstance(node, Condition):
        name = ".".join(part.replace(".", "\\.") for part in node.path)
        return {name: {node.op: node.arg}}
    if node.matches_everything:
        return {}
    return {node.op: [to_selector(child) for child in node.children]}


def equalities(node: Node) -> list[tuple[Path, Any]]:
    """The ``$eq`` conditions every match must meet (top-level ``$and`` only).

    A backend can pre-filter on these; the full selector must still be checked.
    """
    if isinstance(node, Condition):
        return [(node.path, node.arg)] if node.op == "$eq" else []
    if node.op != "$and":
        return []
    return [pair for child in node.children for pair in equalities(child)]


def top_fields(node: Node) -> set[str]:
    """The top-level fields a selector looks at: what a projection must keep to test it."""
    if isinstance(node, Condition):
        return {node.path[0]} if node.path else set()
    return {name for child in node.children for name in top_fields(child)}


# -- sort and projection --------------------------------------------------------


def parse_sort(sort: Any) -> tuple[list[Path], bool]:
    """Sort paths and whether they are descending; InvalidQuery if malformed."""
    if not isinstance(sort, (list, tuple)):
        raise InvalidQuery(f"sort must be a list, not {sort!r}")
    paths: list[Path] = []
    directions: set[str] = set()
    for item in sort:
        if isinstance(item, str):
            name, direction = item, "asc"
        elif isinstance(item, Mapping) and len(item) == 1:
            name, direction = next(iter(item.items()))
        else:
            raise InvalidQuery(f"a sort item is a field or {{field: 'asc'|'desc'}}, not {item!r}")
        if direction not in ("asc", "desc"):
            raise InvalidQuery(f"sort direction must be 'asc' or 'desc', not {direction!r}")
        paths.append(split_path(name))
        directions.add(direction)
    if len(directions) > 1:
        raise InvalidQuery("all sort fields must go in one direction (as CouchDB requires)")
    return paths, directions == {"desc"}


def sort_docs(docs: Iterable[Mapping[str, Any]], sort: Any) -> list[Any]:
    """Documents in Mango ``sort`` order; those lacking a sort field are left out."""
    paths, descending = parse_sort(sort)
    return sort_parsed(docs, paths, descending)


def sort_parsed(
    docs: Iterable[Mapping[str, Any]], paths: list[Path], descending: bool
) -> list[Any]:
    """:func:`sort_docs` for a sort already parsed by :func:`parse_sort`."""
    keyed = []
    for doc in docs:
        values = [get_field(doc, path) for path in paths]
        if not any(isinstance(value, _Absent) for value in values):
            keyed.append(([*values, doc.get("_id")], doc))

    def compare(a: tuple[list[Any], Any], b: tuple[list[Any], Any]) -> int:
        return _collate_pairs(zip(a[0], b[0], strict=False), len(a[0]), len(b[0]))

    keyed.sort(key=functools.cmp_to_key(compare), reverse=descending)
    return [doc for _, doc in keyed]


def parse_fields(fields: Any) -> list[Path]:
    """Projection paths; InvalidQuery unless ``fields`` is a list of field names."""
    if not isinstance(fields, (list, tuple)):
        raise InvalidQuery(f"fields must be a list of field names, not {fields!r}")
    return [split_path(name) for name in fields]


def project(doc: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Only the named fields of ``doc`` (dotted names keep nested objects' shape)."""
    return project_parsed(doc, parse_fields(fields))


def project_parsed(doc: Mapping[str, Any], paths: Sequence[Path]) -> dict[str, Any]:
    """``project`` with the fields parsed already (once per query, not per document)."""
    result: dict[str, Any] = {}
    built: set[int] = {id(result)}  # objects made here, never the document's own
    for path in paths:
        value = get_field(doc, path)
        if isinstance(value, _Absent):
            continue
        target = result
        for part in path[:-1]:
            if part not in target:
                target[part] = {}
                built.add(id(target[part]))
            target = target[part]
            if id(target) not in built:
                break  # an enclosing field is already kept whole
        else:
            target[path[-1]] = value
    return result
