"""Namespaces on one CouchDB server: each store sees, lists and drops only its own databases.

Run against the session's CouchDB-compatible server; the names and URLs alone
need no server.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drwlab.store import DATABASES, drop_namespace, empty_namespace, open_store
from drwlab.store.couchdb import CouchDBStore
from drwlab.store.namespace import (
    check_namespace,
    fresh_namespace,
    left_over,
    logical,
    made_at,
    namespaces_on,
    qualified,
    split_namespace,
    with_namespace,
)
from drwlab.wire import MSGQ
from tests.servers import CouchServer


@pytest.mark.parametrize("name", ["", "Alice", "1st", "a-b", "a b", "a/b", "_a", "a" * 65, None])
def test_a_namespace_that_could_not_be_told_apart_is_refused(name: object) -> None:
    with pytest.raises(ValueError, match="invalid namespace"):
        check_namespace(name)


def test_a_fresh_namespace_is_dated_and_differs_from_the_last() -> None:
    first, second = fresh_namespace(), fresh_namespace("alice")
    assert first.startswith("nb_20") and second.startswith("alice_20")
    assert check_namespace(first) == first and fresh_namespace() != first


def test_a_server_name_is_read_back_only_in_its_own_namespace() -> None:
    assert qualified("alice", "status-entities") == "alice-status-entities"
    assert logical("alice", "alice-status-entities") == "status-entities"
    assert logical("alice", "alice_2-msgq") is None  # another learner's
    assert logical("alice", "status-entities") is None  # the original's, at the top
    assert qualified(None, MSGQ) == logical(None, MSGQ) == MSGQ


def test_a_server_s_namespaces_are_told_from_the_top_and_from_others_databases() -> None:
    names = ["msgq", "ngas", "alice-msgq", "alice-ngas", "alice_2-fault-events", "foo-bar",
             "Alice-msgq", "_users", "bob-msgq-old"]  # fmt: skip
    assert namespaces_on(names) == {"alice": ["msgq", "ngas"], "alice_2": ["fault-events"]}


def test_a_notebook_s_namespace_is_dated_by_its_name_and_a_named_one_never() -> None:
    made = datetime(2026, 12, 7, 6, 31, 12, tzinfo=timezone.utc)
    assert made_at("nb_20261207_063112_3fa2") == made
    assert made_at("alice_20261207_063112_3fa2") == made  # fresh_namespace("alice")
    assert made_at("alice") is None
    assert made_at("nb_20261399_063112_3fa2") is None  # no such day
    named = ["alice", "nb_20261207_063112_3fa2", "nb_20261207_083112_0000"]
    later = made + timedelta(hours=3)
    assert left_over(named, timedelta(hours=1), later) == ["nb_20261207_063112_3fa2"]
    assert left_over(named, timedelta(hours=0), later) == named[1:]
    assert left_over([fresh_namespace()], timedelta(hours=1), datetime.now(timezone.utc)) == []


def test_the_namespace_travels_in_the_store_url() -> None:
    url = with_namespace("http://u:pw@127.0.0.1:5984/couch", "alice")
    assert url == "http://u:pw@127.0.0.1:5984/couch?namespace=alice"
    assert split_namespace(url) == ("http://u:pw@127.0.0.1:5984/couch", "alice")
    assert with_namespace(url, "alice") == url
    with pytest.raises(ValueError, match="names namespace 'alice' already"):
        with_namespace(url, "bob")
    with pytest.raises(ValueError, match="one namespace=NAME and nothing else"):
        split_namespace("http://127.0.0.1:5984?prefix=alice")
    store = CouchDBStore(url)
    assert store.url == "http://u:***@127.0.0.1:5984/couch?namespace=alice"
    assert store.server_name(MSGQ) == "alice-msgq"
    with pytest.raises(ValueError, match="the URL names namespace 'alice'"):
        CouchDBStore(url, namespace="bob")


def test_two_namespaces_on_one_server_never_see_each_others_documents(
    server: CouchServer,
) -> None:
    with (
        open_store(f"{server.url}?namespace=alice") as alice,
        open_store(f"{server.url}?namespace=alice_2") as alice_2,
    ):
        alice.put(MSGQ, {"_id": "m1", "from": "alice"})
        alice_2.put(MSGQ, {"_id": "m2", "from": "alice_2"})
        assert [doc["_id"] for doc in alice.all_docs(MSGQ)] == ["m1"]
        assert [doc["from"] for doc in alice_2.find(MSGQ, {})] == ["alice_2"]
        assert alice.db_names() == alice_2.db_names() == sorted(DATABASES)
        assert "alice-msgq" in server.database_names()


def test_dropping_a_namespace_leaves_the_others_and_the_top_alone(server: CouchServer) -> None:
    with open_store(server.url) as top, open_store(f"{server.url}?namespace=alice_2") as other:
        top.put(MSGQ, {"_id": "original"})
        other.put(MSGQ, {"_id": "other"})
    open_store(f"{server.url}?namespace=alice").close()
    assert drop_namespace(f"{server.url}?namespace=alice") == sorted(DATABASES)
    left = server.database_names()
    assert not [name for name in left if name.startswith("alice-")]
    assert {"msgq", "alice_2-msgq"} <= set(left)
    with open_store(f"{server.url}?namespace=alice_2") as other:
        assert [doc["_id"] for doc in other.all_docs(MSGQ)] == ["other"]
    with pytest.raises(ValueError, match="no namespace to drop"):
        drop_namespace(server.url)


def test_an_empty_namespace_is_checked_without_creating_anything(server: CouchServer) -> None:
    assert empty_namespace(server.url, "bob") == f"{server.url}?namespace=bob"
    assert server.database_names() == set()
    open_store(f"{server.url}?namespace=bob").close()
    with pytest.raises(ValueError, match="has databases already"):
        empty_namespace(server.url, "bob")
    with pytest.raises(ValueError, match="needs a CouchDB store URL"):
        empty_namespace("sqlite:///tmp/x.db", "bob")
