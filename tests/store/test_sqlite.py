"""What only the SQLite backend has to get right: opening, closing, and SQL that agrees with Mango.

``find`` answers from SQL (equalities, sort and limit pushed into indexes);
the property tests here hold it to the pure-Python reference of
:mod:`drwlab.store.mango` on random documents and queries.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drwlab.errors import StoreUnavailable
from drwlab.store import open_store, sqlite_url
from drwlab.store.mango import matches, parse_selector, sort_docs
from drwlab.store.sqlite import SQLiteStore
from drwlab.store.sqlite_query import required_texts


def test_a_missing_directory_is_a_clear_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(StoreUnavailable, match="directory"):
        SQLiteStore(path)
    assert not path.parent.exists()


def test_a_file_that_is_not_a_database_is_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some words that fill the header page\n" * 100)
    with pytest.raises(StoreUnavailable, match=str(path)):
        SQLiteStore(path)


def test_the_url_names_the_absolute_file_and_opens_it_again(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "x.db") as store:
        assert store.url == sqlite_url(tmp_path / "x.db")
        store.create_db("msgq")
        store.put("msgq", {"_id": "kept"})
    with open_store(sqlite_url(tmp_path / "x.db")) as again:
        assert again.get("msgq", "kept")["_id"] == "kept"


def test_close_is_idempotent_and_a_closed_store_is_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db")
    store.close()
    store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.db_names()


def test_closing_wakes_a_waiter_which_then_reports_no_change(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db")
    store.create_db("msgq")
    since = store.current_seq("msgq")
    outcome: list[bool] = []
    waiter = threading.Thread(
        target=lambda: outcome.append(store.wait_for_change("msgq", since, timeout=30)),
        daemon=True,
    )
    waiter.start()
    store.close()
    waiter.join(timeout=10)
    assert outcome == [False]


def test_two_stores_on_one_file_see_and_wake_on_each_others_writes(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "x.db") as one, SQLiteStore(tmp_path / "x.db") as two:
        one.create_db("msgq")
        since = two.current_seq("msgq")
        woke: list[float] = []

        def wait() -> None:
            assert two.wait_for_change("msgq", since, timeout=20)
            woke.append(time.monotonic())

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        written = time.monotonic()
        one.put("msgq", {"_id": "x"})
        waiter.join(timeout=20)
        assert woke and woke[0] - written < 1
        assert two.get("msgq", "x")["_id"] == "x"


def test_a_sort_over_mixed_types_follows_couchdb_collation(tmp_path: Path) -> None:
    values: list[Any] = ["b", "a", [2], [1, 5], {"z": 1}, {"a": 2}, 2, 1.5, None, True, False, "B"]
    with SQLiteStore(tmp_path / "x.db") as store:
        store.create_db("t")
        store.ensure_index("t", ["k"])
        store.bulk_put("t", [{"_id": f"d{i:02d}", "k": v} for i, v in enumerate(values)])
        store.put("t", {"_id": "missing"})
        docs = store.all_docs("t")
        for sort in (["k"], [{"k": "desc"}]):
            assert store.find("t", {}, sort=sort) == sort_docs(docs, sort)
            assert store.find("t", {}, sort=sort, limit=3) == sort_docs(docs, sort)[:3]


def test_an_index_on_id_and_nested_or_odd_fields_is_accepted(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "x.db") as store:
        store.create_db("t")
        for fields in (["_id"], ["a.b", "_id"], ["list.0"], ['we"ird', "it's"]):
            store.ensure_index("t", fields)
        store.put("t", {"_id": "x", "a": {"b": 1}, "list": [1], 'we"ird': 2, "it's": 3})
        assert [d["_id"] for d in store.find("t", {"a.b": 1, "_id": "x"}, sort=["_id"])] == ["x"]
        assert len(store.find("t", {"list.0": 1, 'we"ird': 2, "it's": 3})) == 1


# -- SQL agrees with the Python reference ------------------------------------------

FIELDS = ("a", "b", "o.p")
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -2.5, 2**53 + 1]),
    st.sampled_from(["", "x", "y", "X", "é", "x\x00y", "'", '"']),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from("pq"), st.integers(0, 2), max_size=2),
)
documents = st.lists(
    st.fixed_dictionaries(
        {},
        optional={"a": values, "b": values, "o": st.fixed_dictionaries({}, optional={"p": values})},
    ),
    max_size=12,
)
selectors = st.dictionaries(
    st.sampled_from(FIELDS),
    values | st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$ne", "$lte"]), values),
    max_size=3,
)
sorts = st.one_of(
    st.none(),
    st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True).flatmap(
        lambda names: st.sampled_from(
            [list(names), [{n: "desc"} for n in names], [{n: "asc"} for n in names]]
        )
    ),
)

_counter = itertools.count()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with SQLiteStore(tmp_path_factory.mktemp("prop") / "x.db") as store:
        yield store


def _reference(docs: list[dict[str, Any]], selector: Any, sort: Any) -> list[dict[str, Any]]:
    found = [doc for doc in docs if matches(doc, selector)]
    return sort_docs(found, sort) if sort is not None else sorted(found, key=lambda d: d["_id"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=documents,
    selector=selectors,
    sort=sorts,
    limit=st.none() | st.integers(0, 4),
    skip=st.integers(0, 2),
    indexed=st.booleans(),
)
def test_find_agrees_with_the_python_reference(
    shared: SQLiteStore,
    rows: list[dict[str, Any]],
    selector: dict[str, Any],
    sort: Any,
    limit: int | None,
    skip: int,
    indexed: bool,
) -> None:
    db = f"prop{next(_counter)}"
    shared.create_db(db)
    if indexed:
        shared.ensure_index(db, ["a", "b", "o.p"])
        shared.ensure_index(db, ["o.p", "a"])
    shared.bulk_put(db, [{"_id": f"d{i:02d}", **row} for i, row in enumerate(rows)])
    docs = shared.all_docs(db)
    expected = _reference(docs, selector, sort)
    wanted = None if limit is None else skip + limit
    assert shared.find(db, selector, sort=sort, limit=limit, skip=skip) == expected[skip:wanted]
    assert shared.count(db, selector) == len([d for d in docs if matches(d, selector)])
    shared.drop_db(db)


# -- the substring pre-filter of $or / $regex / string $eq ---------------------------

texts = st.text(alphabet="xyé\U0001f600\"'\\\n\x00-_/", max_size=4)
literals = st.text(alphabet="xyé\U0001f600\"'\n\x00-_/", max_size=4)  # no regex syntax
text_documents = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "a": texts | st.integers(0, 2),
            "o": st.fixed_dictionaries({}, optional={"p": texts, "q": st.lists(texts, max_size=2)}),
        },
    ),
    max_size=10,
)
text_conditions = st.one_of(
    st.builds(lambda f, v: {f: v}, st.sampled_from(["a", "o.p", "o.q.0"]), texts),
    st.builds(lambda f, v: {f: {"$regex": v}}, st.sampled_from(["a", "o.p"]), literals),
    st.builds(lambda f, v: {f: {"$regex": v}}, st.sampled_from(["a", "o.p"]), st.just("x.")),
    st.builds(lambda f: {f: {"$exists": True}}, st.sampled_from(["a", "o.q"])),
)
text_selectors = st.one_of(
    text_conditions,
    st.lists(text_conditions, min_size=1, max_size=3).map(lambda cs: {"$or": cs}),
    st.lists(text_conditions, min_size=1, max_size=3).map(lambda cs: {"$and": cs}),
    st.lists(text_conditions, min_size=1, max_size=2).map(
        lambda cs: {"$or": [{"$and": cs}, {"a": "x"}]}
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=text_documents, selector=text_selectors)
def test_the_text_pre_filter_never_drops_a_match(
    shared: SQLiteStore, rows: list[dict[str, Any]], selector: dict[str, Any]
) -> None:
    # strings with escapes, quotes, NULs and characters outside the BMP, found by
    # equality and by literal regexes, nested and under $or: SQL's instr() may only
    # skip documents the Python matcher would refuse too
    db = f"text{next(_counter)}"
    shared.create_db(db)
    shared.bulk_put(db, [{"_id": f"d{i:02d}", **row} for i, row in enumerate(rows)])
    docs = shared.all_docs(db)
    assert shared.find(db, selector) == _reference(docs, selector, None)
    shared.drop_db(db)


def test_the_pre_filter_knows_which_texts_a_match_must_contain() -> None:
    def texts(selector: dict[str, Any]) -> list[str] | None:
        return required_texts(parse_selector(selector))

    uid = "uid://X1/X1/Xa1"
    assert texts({"$or": [{"body.ousUID": uid}, {"body.name": {"$regex": "-X1-X1-Xa1-"}}]}) == [
        '"uid://X1/X1/Xa1"',
        "-X1-X1-Xa1-",
    ]
    assert texts({"a": "é"}) == ['"\\u00e9"']  # as the store writes it (ASCII escapes)
    assert texts({"$or": [{"a": "x"}, {"b": {"$gt": 1}}]}) is None  # one branch unknown
    assert texts({"a": {"$regex": "x.y"}}) is None  # regex syntax: not a plain substring
    assert texts({"_id": "x"}) is None  # ids live in a column


class _RaisedIntoTheThread(BaseException):
    """What ``drwlab.faults`` raises into a crashed listener's thread, between two statements."""


def test_a_transaction_an_exception_left_open_neither_locks_the_file_nor_the_connection(
    tmp_path: Path,
) -> None:
    from drwlab.store.sqlite_conn import SharedFile

    store = SQLiteStore(tmp_path / "drwlab.db")
    store.create_db("things")
    shared: SharedFile = store._file
    with pytest.raises(_RaisedIntoTheThread), shared.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")  # a write begun, then the thread is interrupted
        raise _RaisedIntoTheThread
    other = SQLiteStore(tmp_path / "drwlab.db")  # another process's writes are not locked out
    other.put("things", {"_id": "b"})
    store.put("things", {"_id": "a"})  # the same connection, back in the pool, begins again
    assert sorted(doc["_id"] for doc in store.all_docs("things")) == ["a", "b"]
    other.close()
    store.close()
