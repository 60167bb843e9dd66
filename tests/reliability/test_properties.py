"""Property-based checks: the embedded store's Mango matcher answers as the server's ``_find``.

Small documents and selectors over the supported operators (``$eq $ne $gt
$gte $lt $lte $in $exists $and $or`` and ``$regex`` with simple patterns) are
generated; the ids matched by :func:`drwlab.store.mango.matches`, by
``SQLiteStore.find`` (which pushes equalities into SQL) and by the
CouchDB-compatible server's own ``_find`` must be the same sets.

Strategy limits, each because real CouchDB and pouchdb-server would disagree
with each other there, not with us:

- strings are lower-case ASCII: CouchDB orders other strings by ICU
  collation, pouchdb-server (and ``mango.py``, deliberately) by code point;
- ``$regex`` patterns are the few simple ones both PCRE and JavaScript read alike.

pouchdb-server 4.2 quirks, where it differs from CouchDB's documented
``mango_selector.erl`` and from ``mango.py``, are worked around on the server
side only, so the matcher is still held to CouchDB's semantics:

- ``{"f": {"$ne": v}}`` also matches documents without ``f`` on pouchdb-server
  (CouchDB: a missing field matches nothing but ``$exists: false``), so it is
  sent there as ``{"f": {"$exists": true, "$ne": v}}``;
- ``$regex`` or ``$ne`` under ``$or``: it answers 400 ("userValue.every is
  not a function") or matches wrongly, depending on the documents; such
  selectors are still checked against SQLite, not against pouchdb-server;
- two conditions with one operator on one field in one ``$and`` (``$exists``
  true and false, say): it merges them into one object, the last one wins;
  such selectors are still checked against SQLite, not against pouchdb-server;
- a combinator nested in one of its own kind: ``$and`` in ``$and`` answers
  400 ("selectors.forEach is not a function"), ``$or`` in ``$or`` matches
  documents it should not; such selectors are still checked against SQLite,
  not against pouchdb-server;
- a dotted path through a scalar (``n.x`` where ``n`` is null or 1) exists
  for pouchdb-server's ``$exists`` and ``$ne``; CouchDB finds no such field.
  Such documents are still checked against SQLite, and left out of what
  pouchdb-server is given;
- null in an argument (``{"$ne": null}``, ``{"$eq": [null]}`` or a bare null
  inside ``$and``) makes it answer 400 ("Cannot convert undefined or null to
  object"), and ``{"$in": [null]}`` does not match a null field. So arguments
  never hold null (documents hold nulls everywhere).

Also the uid encoding: ``uid_to_doc_id``/``doc_id_to_uid`` round-trip, never
collide, and ``check_uid`` accepts exactly what ``is_uid`` says is a uid.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drwlab.errors import InvalidUid
from drwlab.store import mango
from drwlab.store.sqlite import SQLiteStore
from drwlab.uids import check_uid, doc_id_to_uid, is_uid, uid_to_dashed, uid_to_doc_id
from tests.reliability.figures import Figures
from tests.servers import CouchServer

DB = "properties"
FIELDS = ("a", "b", "c", "n.x")
PATTERNS = ("^a", "b$", "a.", "^$", "ab|ba", "^[ab]+$")
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- documents --------------------------------------------------------------------------
texts = st.text(alphabet="ab", max_size=2)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([-0.5, 1.5, 2.0]),
    texts,
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.fixed_dictionaries({"x": scalars}),
)


@st.composite
def documents(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to six documents, each with some of the fields (``n.x`` as a nested object)."""
    docs = []
    for number in range(draw(st.integers(0, 6))):
        doc: dict[str, Any] = {"_id": f"d{number}"}
        for name in draw(st.lists(st.sampled_from(FIELDS), unique=True)):
            if name == "n.x":
                doc["n"] = draw(st.one_of(st.fixed_dictionaries({"x": values}), scalars))
            else:
                doc[name] = draw(values)
        docs.append(doc)
    return docs


# -- selectors --------------------------------------------------------------------------
not_null = scalars.filter(lambda value: value is not None)
arguments = st.one_of(not_null, st.lists(not_null, max_size=2))
comparisons = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    """One field condition: a bare value or one operator."""
    name = draw(st.sampled_from(FIELDS))
    kind = draw(st.sampled_from(["bare", "compare", "in", "exists", "regex"]))
    if kind == "bare":
        return {name: draw(not_null)}
    if kind == "compare":
        return {name: {draw(comparisons): draw(arguments)}}
    if kind == "in":
        return {name: {"$in": draw(st.lists(not_null, max_size=3))}}
    if kind == "exists":
        return {name: {"$exists": draw(st.booleans())}}
    return {name: {"$regex": draw(st.sampled_from(PATTERNS))}}


selectors = st.recursive(
    conditions(),
    lambda children: st.builds(
        lambda op, items: {op: items},
        st.sampled_from(["$and", "$or"]),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=4,
)


# -- the three answers --------------------------------------------------------------------
@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path_factory.mktemp("properties") / "drwlab.db")
    try:
        yield store
    finally:
        store.close()


class ServerFind:
    """The server's own ``_find`` on one database, refilled for each example."""

    def __init__(self, session: requests.Session, url: str) -> None:
        self.session = session
        self.url = f"{url}/{DB}"
        self.is_couchdb = "couchdb" in session.get(url, timeout=10).json()
        self._revs: dict[str, str] = {}
        self.compared = 0
        session.delete(self.url, timeout=10)
        session.put(self.url, timeout=10).raise_for_status()

    def ids(self, docs: list[dict[str, Any]], selector: dict[str, Any]) -> set[str]:
        """Replace the documents by ``docs``; the ids ``selector`` matches there."""
        gone = [{"_id": i, "_rev": rev, "_deleted": True} for i, rev in self._revs.items()]
        self._revs = {}
        self._bulk(gone)
        self._revs = {row["id"]: row["rev"] for row in self._bulk(docs)}
        if not self.is_couchdb:
            selector = for_pouchdb(selector)
        answer = self.session.post(  # CouchDB pages at 25 unless asked for more
            f"{self.url}/_find", json={"selector": selector, "limit": 1000}, timeout=10
        )
        assert answer.status_code == 200, (selector, answer.text)
        self.compared += 1
        return {doc["_id"] for doc in answer.json()["docs"]}

    def _bulk(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not docs:
            return []
        answer = self.session.post(f"{self.url}/_bulk_docs", json={"docs": docs}, timeout=10)
        answer.raise_for_status()
        rows: list[dict[str, Any]] = answer.json()
        assert all("rev" in row for row in rows), rows
        return rows


@pytest.fixture(scope="module")
def server(couch_server: CouchServer) -> Iterator[ServerFind]:
    with requests.Session() as session:
        found = ServerFind(session, couch_server.url)
        yield found
        session.delete(found.url, timeout=10)


def sqlite_ids(store: SQLiteStore, docs: list[dict[str, Any]], selector: dict[str, Any]) -> set:
    store.drop_db(DB)
    store.create_db(DB)
    store.bulk_put(DB, docs)
    return {doc["_id"] for doc in store.find(DB, selector)}


def for_pouchdb(selector: Any) -> Any:
    """``selector`` with each ``$ne`` made to skip missing fields, as CouchDB's does."""
    if isinstance(selector, list):
        return [for_pouchdb(item) for item in selector]
    if not isinstance(selector, dict):
        return selector
    rewritten = {}
    for key, value in selector.items():
        if isinstance(value, dict) and list(value) == ["$ne"]:
            rewritten[key] = {"$exists": True, **value}
        else:
            rewritten[key] = for_pouchdb(value)
    return rewritten


def pouchdb_reads_alike(selector: Any, within: str | None = None) -> bool:
    """False when an ``$and`` sits in an ``$and``, or an ``$or`` in an ``$or``, or an
    ``$and`` holds two conditions with one operator on one field."""
    if isinstance(selector, list):
        return all(pouchdb_reads_alike(item, within) for item in selector)
    if not isinstance(selector, dict):
        return True
    for key, value in selector.items():
        if key in ("$and", "$or"):
            if key == within:
                return False
            ops = [op for item in value for op in _leaf_operators(item)]
            if key == "$and" and len(ops) != len(set(ops)):
                return False
            if not pouchdb_reads_alike(value, key):
                return False
        elif not pouchdb_reads_alike(value, within if key.startswith("$") else None):
            return False
    return True


def quirky_in_or(selector: Any, in_or: bool = False) -> bool:
    """True when a ``$regex`` or ``$ne`` sits anywhere under an ``$or``."""
    if isinstance(selector, list):
        return any(quirky_in_or(item, in_or) for item in selector)
    if not isinstance(selector, dict):
        return False
    return any(
        (key in ("$regex", "$ne") and in_or) or quirky_in_or(value, in_or or key == "$or")
        for key, value in selector.items()
    )


def _leaf_operators(item: Any) -> list[tuple[str, str]]:
    """(field, operator) of a leaf condition as pouchdb-server gets it (after ``for_pouchdb``)."""
    if not isinstance(item, dict) or len(item) != 1:
        return []
    [(field, condition)] = item.items()
    if field.startswith("$"):
        return []
    if not isinstance(condition, dict):
        return [(field, "$eq")]
    extra = [(field, "$exists")] if "$ne" in condition else []
    return [(field, op) for op in condition] + extra


@SETTINGS
@given(docs=documents(), selector=selectors)
def test_the_embedded_matcher_agrees_with_the_servers_find(
    docs: list[dict[str, Any]],
    selector: dict[str, Any],
    sqlite: SQLiteStore,
    server: ServerFind,
    figures: Figures,
) -> None:
    by_python = {doc["_id"] for doc in docs if mango.matches(doc, selector)}
    assert sqlite_ids(sqlite, docs, selector) == by_python
    if server.is_couchdb:
        assert server.ids(docs, selector) == by_python
    elif pouchdb_reads_alike(selector) and not quirky_in_or(selector):
        plain = [doc for doc in docs if isinstance(doc.get("n", {}), dict)]
        assert server.ids(plain, selector) == by_python & {doc["_id"] for doc in plain}
    figures.record("properties.mango", server_comparisons=server.compared)


@SETTINGS
@given(docs=documents(), field=st.sampled_from(FIELDS), descending=st.booleans())
def test_sqlite_sorts_as_the_matcher_collates(
    docs: list[dict[str, Any]], field: str, descending: bool, sqlite: SQLiteStore
) -> None:
    sort = [{field: "desc" if descending else "asc"}]
    expected = [doc["_id"] for doc in mango.sort_docs(docs, sort)]
    sqlite_ids(sqlite, docs, {})
    assert [doc["_id"] for doc in sqlite.find(DB, {}, sort=sort)] == expected


# -- uids ---------------------------------------------------------------------------------
parts = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8)
uids = st.builds(lambda a, b, c: f"uid://{a}/{b}/{c}", parts, parts, parts)


@settings(max_examples=200, deadline=None)
@given(uid=uids)
def test_a_uid_round_trips_through_its_document_id(uid: str) -> None:
    assert doc_id_to_uid(uid_to_doc_id(uid)) == uid
    assert uid_to_dashed(uid).replace("-", "/") == uid.removeprefix("uid://")


@settings(max_examples=200, deadline=None)
@given(first=uids, second=uids)
def test_two_uids_never_share_a_document_id(first: str, second: str) -> None:
    assert (uid_to_doc_id(first) == uid_to_doc_id(second)) == (first == second)


UID_SHAPE = re.compile(r"uid://[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+")
near_uids = st.builds(
    lambda uid, prefix, suffix: prefix + uid + suffix,
    uids,
    st.sampled_from(["", " ", "\n", "x"]),
    st.sampled_from(["", "\n", " ", "/x", "\x00", "\u0662", "_"]),
)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(uids, near_uids, st.text(max_size=30)))
def test_check_uid_accepts_exactly_the_uids(text: str) -> None:
    assert is_uid(text) == bool(UID_SHAPE.fullmatch(text)), "is_uid disagrees with the uid shape"
    if is_uid(text):
        assert check_uid(text) == text
        assert doc_id_to_uid(uid_to_doc_id(text)) == text
    else:
        with pytest.raises(InvalidUid):
            check_uid(text)
        with pytest.raises(InvalidUid):
            uid_to_doc_id(text)


@settings(max_examples=200, deadline=None)
@given(uid=uids, suffix=st.sampled_from(["\n", " ", "_x", "\x00", "/"]))
def test_a_document_id_with_anything_after_it_is_not_an_encoded_uid(uid: str, suffix: str) -> None:
    with pytest.raises(InvalidUid):
        doc_id_to_uid(uid_to_doc_id(uid) + suffix)


def test_the_strategies_reach_every_operator() -> None:
    # guards the generators: a selector strategy that lost an operator would pass vacuously
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(selector=selectors)
    def collect(selector: dict[str, Any]) -> None:
        seen.update(_operators(selector))

    collect()
    assert seen >= set(mango.OPERATORS)


def _operators(selector: Any) -> Iterator[str]:
    if isinstance(selector, dict):
        for key, value in selector.items():
            if key.startswith("$"):
                yield key
            yield from _operators(value)
    elif isinstance(selector, list):
        for item in selector:
            yield from _operators(item)


def test_a_path_does_not_leak_between_examples(tmp_path: Path) -> None:
    # the fixtures reuse one database per backend: each example starts it afresh
    store = SQLiteStore(tmp_path / "x.db")
    try:
        assert sqlite_ids(store, [{"_id": "d0", "a": 1}], {"a": 1}) == {"d0"}
        assert sqlite_ids(store, [], {"a": 1}) == set()
    finally:
        store.close()
