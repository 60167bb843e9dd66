"""The Store contract, run on every backend (the ``store`` fixture is SQLite, then CouchDB).

Each test states one promise of ``drwlab/store/base.py`` that the bus and the
actors rely on. Backend-only behaviour lives in ``test_sqlite_*.py`` and
``test_couchdb.py``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest

from drwlab.errors import Conflict, InvalidQuery, NotFound
from drwlab.store import DATABASES, Store
from drwlab.store.base import Doc

DB = "status-entities"

FRUITS: list[dict[str, Any]] = [
    {"_id": "a", "n": 1, "s": "apple", "flag": True, "o": {"k": 1, "deep": {"v": "p"}}},
    {"_id": "b", "n": 2, "s": "banana", "flag": False, "o": {"k": 2}},
    {"_id": "c", "n": 3, "s": "cherry", "nothing": None, "o": {"k": 3, "deep": {"v": "q"}}},
    {"_id": "d", "n": 2.5, "s": "date"},
    {"_id": "e", "n": "text", "s": "elder"},
]


@pytest.fixture
def fruits(store: Store) -> Store:
    """The store with FRUITS in ``DB``."""
    results = store.bulk_put(DB, FRUITS)
    assert all(result.error is None for result in results)
    return store


def _ids(docs: list[dict[str, Any]]) -> list[str]:
    return [doc["_id"] for doc in docs]


# -- databases ---------------------------------------------------------------------


def test_a_fresh_store_has_the_original_databases(store: Store) -> None:
    assert store.db_names() == sorted(DATABASES)


def test_creating_and_dropping_databases_is_idempotent(store: Store) -> None:
    store.create_db("scratch")
    store.create_db("scratch")
    assert "scratch" in store.db_names()
    store.put("scratch", {"_id": "x"})
    store.drop_db("scratch")
    store.drop_db("scratch")
    assert "scratch" not in store.db_names()
    store.create_db("scratch")
    assert store.all_docs("scratch") == []


def test_a_missing_database_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get("nosuchdb", "x")
    with pytest.raises(NotFound):
        store.put("nosuchdb", {"_id": "x"})
    with pytest.raises(NotFound):
        store.find("nosuchdb", {})
    with pytest.raises(NotFound):
        store.current_seq("nosuchdb")


def test_a_database_name_must_be_one_couchdb_accepts(store: Store) -> None:
    with pytest.raises(ValueError):
        store.create_db("Capitals")


# -- documents ---------------------------------------------------------------------


def test_a_missing_or_deleted_document_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get(DB, "nobody")
    doc = store.put(DB, {"_id": "gone"})
    store.delete(DB, "gone", doc["_rev"])
    with pytest.raises(NotFound):
        store.get(DB, "gone")


def test_get_many_gives_the_documents_that_exist_by_id(store: Store) -> None:
    kept = store.put(DB, {"_id": "kept", "v": 1})
    updated = store.put(DB, {**store.put(DB, {"_id": "updated", "v": 1}), "v": 2})
    gone = store.put(DB, {"_id": "gone"})
    store.delete(DB, "gone", gone["_rev"])
    found = store.get_many(DB, ["updated", "nobody", "kept", "gone", "kept"])
    assert found == {"kept": kept, "updated": updated}
    assert store.get_many(DB, []) == {}
    with pytest.raises(NotFound):
        store.get_many("no-such-db", ["kept"])
    with pytest.raises(NotFound):
        store.get_many("no-such-db", [])


def test_get_many_takes_more_ids_than_one_query_holds(store: Store) -> None:
    store.bulk_put(DB, [{"_id": f"n{i:04}"} for i in range(1200)])
    found = store.get_many(DB, [f"n{i:04}" for i in range(0, 1300, 2)])
    assert sorted(found) == [f"n{i:04}" for i in range(0, 1200, 2)]


def test_put_returns_the_document_with_its_id_and_revision(store: Store) -> None:
    written = store.put(DB, {"_id": "x", "v": 1, "nested": {"a": [1, 2]}})
    assert written["_id"] == "x"
    assert written["_rev"].startswith("1-")
    assert store.get(DB, "x") == written


def test_put_without_an_id_chooses_a_fresh_one(store: Store) -> None:
    first = store.put(DB, {"v": 1})
    second = store.put(DB, {"v": 1})
    assert first["_id"] != second["_id"]
    assert store.get(DB, first["_id"])["v"] == 1


def test_put_with_the_current_revision_updates(store: Store) -> None:
    first = store.put(DB, {"_id": "x", "v": 1})
    second = store.put(DB, {**first, "v": 2})
    assert second["_rev"].startswith("2-")
    assert store.get(DB, "x") == {"_id": "x", "_rev": second["_rev"], "v": 2}


def test_put_with_a_stale_revision_is_a_conflict_and_changes_nothing(store: Store) -> None:
    first = store.put(DB, {"_id": "x", "v": 1})
    second = store.put(DB, {**first, "v": 2})
    with pytest.raises(Conflict):
        store.put(DB, {**first, "v": 3})
    assert store.get(DB, "x") == second


def test_put_of_a_new_document_over_an_existing_id_is_a_conflict(store: Store) -> None:
    store.put(DB, {"_id": "x", "v": 1})
    with pytest.raises(Conflict):
        store.put(DB, {"_id": "x", "v": 2})
    assert store.get(DB, "x")["v"] == 1


def test_put_of_a_new_document_with_a_revision_is_a_conflict(store: Store) -> None:
    with pytest.raises(Conflict):
        store.put(DB, {"_id": "x", "_rev": "1-abc"})


def test_put_leaves_the_callers_mapping_alone(store: Store) -> None:
    mine = {"v": 1, "nested": {"a": 1}}
    store.put(DB, mine)
    assert mine == {"v": 1, "nested": {"a": 1}}
    with_id = {"_id": "y", "v": 1}
    written = store.put(DB, with_id)
    assert with_id == {"_id": "y", "v": 1}
    store.put(DB, {**written, "v": 2})
    assert written["v"] == 1


def test_delete_needs_the_current_revision(store: Store) -> None:
    first = store.put(DB, {"_id": "x"})
    second = store.put(DB, first)
    with pytest.raises(Conflict):
        store.delete(DB, "x", first["_rev"])
    store.delete(DB, "x", second["_rev"])
    with pytest.raises(NotFound):
        store.delete(DB, "nobody", "1-abc")


def test_of_two_deletions_at_one_revision_the_second_is_a_conflict(store: Store) -> None:
    doc = store.put(DB, {"_id": "x"})
    store.delete(DB, "x", doc["_rev"])
    with pytest.raises(Conflict):
        store.delete(DB, "x", doc["_rev"])


def test_a_deleted_document_can_be_written_again(store: Store) -> None:
    first = store.put(DB, {"_id": "x", "v": 1})
    store.delete(DB, "x", first["_rev"])
    again = store.put(DB, {"_id": "x", "v": 2})
    assert store.get(DB, "x") == again


def test_bulk_put_reports_each_document_on_its_own(store: Store) -> None:
    old = store.put(DB, {"_id": "old", "v": 1})
    store.put(DB, {**old, "v": 2})
    fresh = store.put(DB, {"_id": "fresh", "v": 1})
    results = store.bulk_put(
        DB,
        [{"_id": "new", "v": 1}, {**old, "v": 3}, {**fresh, "v": 2}, {"v": "no id"}],
    )
    assert [r.id for r in results[:3]] == ["new", "old", "fresh"]
    assert results[0].rev is not None and results[0].error is None
    assert results[1].rev is None and results[1].error == "conflict"
    assert results[2].rev is not None and results[2].rev.startswith("2-")
    assert store.get(DB, results[3].id)["v"] == "no id"
    assert store.get(DB, "old")["v"] == 2


def test_all_docs_lists_live_documents_by_id(store: Store) -> None:
    for doc_id in ("m", "b", "z", "a"):
        store.put(DB, {"_id": doc_id})
    store.delete(DB, "z", store.get(DB, "z")["_rev"])
    store.ensure_index(DB, ["v"])
    assert _ids(store.all_docs(DB)) == ["a", "b", "m"]


# -- queries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, "abcde"),
        ({"n": 2}, "b"),
        ({"n": {"$eq": 2}}, "b"),
        ({"n": {"$ne": 2}}, "acde"),
        ({"flag": {"$ne": True}}, "b"),
        ({"n": {"$gt": 2}}, "cde"),
        ({"n": {"$gte": 2, "$lt": 3}}, "bd"),
        ({"n": {"$lte": 1}}, "a"),
        ({"n": {"$lt": 2}}, "a"),
        ({"s": {"$in": ["apple", "date", "fig"]}}, "ad"),
        ({"s": {"$regex": "an"}}, "b"),
        ({"s": {"$regex": "^c"}}, "c"),
        ({"nothing": {"$exists": True}}, "c"),
        ({"nothing": None}, "c"),
        ({"o": {"$exists": False}}, "de"),
        ({"flag": False}, "b"),
        ({"$or": [{"n": 1}, {"s": "date"}]}, "ad"),
        ({"$and": [{"n": {"$gt": 1}}, {"n": {"$lt": 3}}]}, "bd"),
        ({"n": {"$gt": 1}, "s": {"$regex": "a"}}, "bd"),
        ({"o.k": {"$gte": 2}}, "bc"),
        ({"o": {"deep": {"v": "q"}}}, "c"),
        ({"o.deep.v": {"$exists": True}}, "ac"),
        ({"_id": {"$gt": "c"}}, "de"),
    ],
)
def test_find_matches_with_each_operator(fruits: Store, selector: Any, expected: str) -> None:
    assert "".join(sorted(_ids(fruits.find(DB, selector)))) == expected
    assert fruits.count(DB, selector) == len(expected)


def test_find_with_an_index_gives_the_same_answers(fruits: Store) -> None:
    fruits.ensure_index(DB, ["s", "n"])
    fruits.ensure_index(DB, ["flag"])
    assert _ids(fruits.find(DB, {"s": "banana", "n": 2})) == ["b"]
    assert _ids(fruits.find(DB, {"flag": False})) == ["b"]
    assert _ids(fruits.find(DB, {"s": {"$gt": "c"}}, sort=["s"])) == ["c", "d", "e"]


@pytest.fixture
def ranked(store: Store) -> Store:
    """40 messages in msgq (more than CouchDB's default page of 25), half consumed."""
    store.ensure_index("msgq", ["selector", "consumed", "creationTimestamp"])
    docs = [
        {
            "_id": f"m{i:02d}",
            "selector": "s",
            "consumed": i % 2 == 1,
            "creationTimestamp": f"2024-01-01T00:00:{59 - i:02d}.000",
        }
        for i in range(40)
    ]
    store.bulk_put("msgq", docs)
    store.put("msgq", {"_id": "other", "selector": "t", "consumed": False})
    return store


def test_find_without_a_limit_returns_every_match(ranked: Store) -> None:
    assert len(ranked.find("msgq", {"selector": "s"})) == 40


def test_find_sorts_ascending_and_descending(ranked: Store) -> None:
    selector = {"selector": "s", "consumed": False}
    ascending = ranked.find("msgq", selector, sort=["creationTimestamp"])
    assert _ids(ascending) == [f"m{i:02d}" for i in range(38, -1, -2)]
    descending = ranked.find("msgq", selector, sort=[{"creationTimestamp": "desc"}])
    assert _ids(descending) == _ids(ascending)[::-1]
    explicit = ranked.find("msgq", selector, sort=[{"creationTimestamp": "asc"}])
    assert explicit == ascending


def test_find_skips_and_limits_after_sorting(ranked: Store) -> None:
    ordered = _ids(ranked.find("msgq", {"selector": "s"}, sort=["creationTimestamp"]))
    assert len(ordered) == 40
    page = ranked.find("msgq", {"selector": "s"}, sort=["creationTimestamp"], skip=5, limit=30)
    assert _ids(page) == ordered[5:35]
    assert ranked.find("msgq", {"selector": "s"}, limit=0) == []
    assert len(ranked.find("msgq", {"selector": "s"}, skip=35)) == 5


def test_a_sort_leaves_out_documents_without_the_sort_field(ranked: Store) -> None:
    everything = ranked.find("msgq", {}, sort=["creationTimestamp"])
    assert "other" not in _ids(everything)
    assert len(everything) == 40


def test_find_keeps_only_the_named_fields(fruits: Store) -> None:
    found = fruits.find(DB, {"n": {"$lt": 2.5}}, sort=["n"], fields=["s", "o"])
    assert found == [{"s": "apple", "o": FRUITS[0]["o"]}, {"s": "banana", "o": {"k": 2}}]
    with_id = fruits.find(DB, {"_id": "d"}, fields=["_id", "n", "missing"])
    assert with_id == [{"_id": "d", "n": 2.5}]


def test_a_projection_need_not_name_the_fields_the_selector_tests(store: Store) -> None:
    # no sort: CouchDB projects on the server, and must keep what the selector tests
    store.put(DB, {"_id": "y1", "state": "Delivered", "o": {"p": 1}, "big": "z" * 10_000})
    store.put(DB, {"_id": "y2", "state": "Verified", "o": {"p": 2}})
    store.put(DB, {"_id": "y3", "state": "Delivered", "o": {"p": 3, "q": 4}, "n": 7})
    assert store.find(DB, {"state": "Delivered", "o.p": {"$gt": 1}}, fields=["n"]) == [{"n": 7}]
    final = {"state": {"$in": ["Delivered", "ProcessingProblem"]}}
    assert store.find(DB, final, fields=["_id", "o.q"]) == [
        {"_id": "y1"},
        {"_id": "y3", "o": {"q": 4}},
    ]
    assert store.count(DB, final) == 2


def test_a_whole_table_keeps_only_the_named_fields_nested_ones_too(store: Store) -> None:
    # the views' query: no selector, no sort (CouchDB projects on the server then)
    store.put(DB, {"_id": "x1", "a": 1, "big": "z" * 10_000, "o": {"p": 2, "q": 3}})
    store.put(DB, {"_id": "x2", "a": None})
    store.put(DB, {"_id": "x3", "o": 5})
    assert store.find(DB, {}, fields=["a", "o.p"]) == [
        {"a": 1, "o": {"p": 2}},
        {"a": None},
        {},
    ]
    assert store.find(DB, {}, fields=["_id"], limit=2, skip=1) == [{"_id": "x2"}, {"_id": "x3"}]


@pytest.mark.parametrize(
    "selector",
    [
        {"n": {"$foo": 1}},
        {"$gt": 1},
        {"n": {"$in": 1}},
        {"n": {"$exists": "yes"}},
        {"$or": {"n": 1}},
        {"s": {"$regex": "("}},
        {"n": {"$nin": [1]}},
    ],
)
def test_a_selector_outside_the_subset_is_an_invalid_query(fruits: Store, selector: Any) -> None:
    with pytest.raises(InvalidQuery):
        fruits.find(DB, selector)


@pytest.mark.parametrize(
    "query",
    [
        {"sort": [{"n": "up"}]},
        {"sort": ["n", {"s": "desc"}]},
        {"fields": "s"},
    ],
)
def test_a_malformed_sort_or_field_list_is_an_invalid_query(fruits: Store, query: Any) -> None:
    with pytest.raises(InvalidQuery):
        fruits.find(DB, {}, **query)


def test_ensure_index_is_idempotent(fruits: Store) -> None:
    fruits.ensure_index(DB, ["s"])
    fruits.ensure_index(DB, ["s"])
    assert _ids(fruits.find(DB, {"s": "cherry"})) == ["c"]
    with pytest.raises(InvalidQuery):
        fruits.ensure_index(DB, [])


# -- change feed -------------------------------------------------------------------


def test_changes_list_writes_and_deletions_after_a_seq(store: Store) -> None:
    store.put(DB, {"_id": "before"})
    since = store.current_seq(DB)
    first = store.put(DB, {"_id": "x"})
    store.put(DB, {"_id": "y"})
    store.delete(DB, "x", first["_rev"])
    page = store.changes(DB, since)
    assert sorted((c.id, c.deleted) for c in page.changes) == [("x", True), ("y", False)]
    assert store.changes(DB, page.last_seq).changes == []
    assert page.last_seq == store.current_seq(DB)


def test_changes_from_the_beginning_and_by_pages(store: Store) -> None:
    for doc_id in ("p", "q", "r"):
        store.put(DB, {"_id": doc_id})
    assert sorted(c.id for c in store.changes(DB).changes) == ["p", "q", "r"]
    first = store.changes(DB, None, limit=2)
    rest = store.changes(DB, first.last_seq)
    assert len(first.changes) == 2
    assert sorted(c.id for c in first.changes + rest.changes) == ["p", "q", "r"]


def test_changes_show_a_document_once_at_its_latest_revision(store: Store) -> None:
    since = store.current_seq(DB)
    doc = store.put(DB, {"_id": "x", "v": 1})
    doc = store.put(DB, {**doc, "v": 2})
    changes = store.changes(DB, since).changes
    assert [(c.id, c.rev) for c in changes] == [("x", doc["_rev"])]


def test_wait_for_change_returns_at_once_when_already_changed(store: Store) -> None:
    since = store.current_seq(DB)
    store.put(DB, {"v": 1})
    started = time.monotonic()
    assert store.wait_for_change(DB, since, timeout=10)
    assert time.monotonic() - started < 1


def test_wait_for_changes_lists_the_changes_it_woke_for(store: Store) -> None:
    since = store.current_seq(DB)
    assert store.wait_for_changes(DB, since, timeout=0.2, limit=10) is None
    first = store.put(DB, {"_id": "w1"})
    store.put(DB, {"_id": "w2"})
    page = store.wait_for_changes(DB, since, timeout=10, limit=10)
    assert page is not None
    assert sorted((c.id, c.rev) for c in page.changes)[0] == ("w1", first["_rev"])
    assert sorted(c.id for c in page.changes) == ["w1", "w2"]
    # from where that page ended, nothing new: a timeout again
    assert store.wait_for_changes(DB, page.last_seq, timeout=0.2, limit=10) is None


def test_changes_carry_their_documents_when_asked(store: Store) -> None:
    since = store.current_seq(DB)
    kept = store.put(DB, {"_id": "d1", "v": 1})
    gone = store.put(DB, {"_id": "d2", "v": 2})
    store.delete(DB, "d2", gone["_rev"])
    for page in (
        store.changes(DB, since=since, include_docs=True),
        store.wait_for_changes(DB, since, timeout=10, limit=10, include_docs=True),
    ):
        assert page is not None
        by_id = {change.id: change for change in page.changes}
        assert by_id["d1"].doc == kept
        assert by_id["d2"].deleted and by_id["d2"].doc is None
    # not asked: no documents travel
    assert all(change.doc is None for change in store.changes(DB, since=since).changes)


def test_follow_changes_brings_each_change_and_a_heartbeat_between(store: Store) -> None:
    since = store.current_seq(DB)
    feed = store.follow_changes(DB, since, heartbeat=0.2, limit=10, include_docs=True)
    try:
        assert next(feed) is None  # nothing happened: a heartbeat, not a hang
        first = store.put(DB, {"_id": "f1", "v": 1})
        second = store.put(DB, {"_id": "f2", "v": 2})
        seen: list[Doc] = []
        last_seq = since
        while len(seen) < 2:
            page = next(feed)
            if page is not None:
                seen.extend(change.doc for change in page.changes if change.doc is not None)
                last_seq = page.last_seq
        assert seen == [first, second]  # in the order written, with their documents
    finally:
        feed.close()
    # followed again from the last seq seen: only what came after
    store.put(DB, {"_id": "f3"})
    again = store.follow_changes(DB, last_seq, heartbeat=0.2, limit=10)
    try:
        page = next(page for page in again if page is not None)
        assert [change.id for change in page.changes] == ["f3"]
    finally:
        again.close()


def test_wait_for_change_gives_up_after_its_timeout(store: Store) -> None:
    since = store.current_seq(DB)
    store.put("msgq", {"elsewhere": True})
    started = time.monotonic()
    assert not store.wait_for_change(DB, since, timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 1.3
    assert not store.wait_for_change(DB, since, timeout=0)


@pytest.mark.parametrize("later", [False, True], ids=["announced", "announced_later"])
def test_wait_for_change_wakes_when_another_thread_writes(store: Store, later: bool) -> None:
    """Every waiter wakes, also for a write ``announced_later`` (the bus's own writes:
    a backend may tell its waiters a little later, never not at all)."""
    since = store.current_seq(DB)
    woke: list[float] = []

    def wait() -> None:
        assert store.wait_for_change(DB, since, timeout=20)
        woke.append(time.monotonic())

    waiters = [threading.Thread(target=wait, daemon=True) for _ in range(2)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.2)  # let the waiters block: this test is about waking, not about a race
    written = time.monotonic()
    with store.announced_later() if later else contextlib.nullcontext():
        store.put(DB, {"v": 1})
    for waiter in waiters:
        waiter.join(timeout=20)
    assert len(woke) == 2 and max(woke) - written < 1


def _race(store: Store, doc: dict[str, Any]) -> dict[str, str]:
    """Two threads write ``doc`` at its revision at the same moment: who won, who lost."""
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(name: str) -> None:
        start.wait()
        try:
            store.put(DB, {**doc, "claimedBy": name})
            outcomes[name] = "won"
        except Conflict:
            outcomes[name] = "lost"

    threads = [threading.Thread(target=claim, args=(name,), daemon=True) for name in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return outcomes


def test_of_two_threads_writing_one_revision_exactly_one_wins(store: Store) -> None:
    for round_ in range(10):
        doc = store.put(DB, {"_id": f"race{round_}", "claimedBy": None})
        outcomes = _race(store, doc)
        assert sorted(outcomes.values()) == ["lost", "won"]
        winner = next(name for name, outcome in outcomes.items() if outcome == "won")
        assert store.get(DB, doc["_id"])["claimedBy"] == winner


def test_bulk_results_match_their_documents_when_some_conflict(store: Store) -> None:
    docs = [store.put("ngas", {"_id": f"f{n:02d}", "n": n}) for n in range(30)]
    stale = {doc["_id"] for doc in docs[::3]}
    for doc_id in stale:
        store.put("ngas", {**store.get("ngas", doc_id), "n": -1})
    for _ in range(3):  # pouchdb-server has answered out of order only now and then
        current = {doc["_id"]: store.get("ngas", doc["_id"]) for doc in docs}
        writes = [
            {**(doc if doc["_id"] in stale else current[doc["_id"]]), "n": 99} for doc in docs
        ]
        results = store.bulk_put("ngas", writes)
        assert [r.id for r in results] == [d["_id"] for d in docs]
        for result in results:
            assert (result.error is not None) == (result.id in stale), result
            if result.error is None:
                assert store.get("ngas", result.id)["_rev"] == result.rev
