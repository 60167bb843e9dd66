"""Sandboxes on one CouchDB server, each in a namespace of its own: a classroom where every
learner is alone. What a learner (or an instructor looking at the server) would check: no
sandbox sees another's OUSs, and a discarded sandbox takes its databases, and only those."""

from __future__ import annotations

import pytest

from drwlab import Sandbox
from drwlab.store import DATABASES, open_store
from drwlab.store.namespace import fresh_namespace
from drwlab.wire import MSGQ, STATUS_DB
from tests.servers import CouchServer

PROG = "2015.1.00657.S"


def learner_sandbox(server: CouchServer, namespace: str) -> Sandbox:
    return Sandbox(
        store=server.url,
        namespace=namespace,
        time_scale=0.0,
        seed=1,
        failure_rate=0.0,
        autopilot=False,
    )


def test_two_learners_on_one_server_see_only_their_own_ouss(server: CouchServer) -> None:
    alice = learner_sandbox(server, "alice")
    bob = learner_sandbox(server, "bob")
    try:
        alice.launch(PROG, "uid://X1/X1/Xa0")
        bob.launch(PROG, "uid://X1/X1/Xb0")
        bob.launch(PROG, "uid://X1/X1/Xb1")
        alice.wait_for("uid://X1/X1/Xa0", "ReadyForReview", timeout=60)
        for uid in ("uid://X1/X1/Xb0", "uid://X1/X1/Xb1"):
            bob.wait_for(uid, "ReadyForReview", timeout=60)
        seen = {
            name: sorted(doc["entityId"] for doc in sandbox.store.all_docs(STATUS_DB))
            for name, sandbox in (("alice", alice), ("bob", bob))
        }
        assert seen == {
            "alice": ["uid://X1/X1/Xa0"],
            "bob": ["uid://X1/X1/Xb0", "uid://X1/X1/Xb1"],
        }
        bodies = [str(doc.get("body")) for doc in alice.store.all_docs(MSGQ)]
        assert bodies and not [body for body in bodies if "Xb" in body]
        assert alice.qa2.ready_for_review()[0]["entityId"] == "uid://X1/X1/Xa0"
        assert {f"alice-{db}" for db in DATABASES} <= server.database_names()
    finally:
        alice.discard()
        bob.discard()


def test_discard_drops_the_sandbox_s_own_databases_and_no_others(server: CouchServer) -> None:
    with open_store(server.url) as top:  # the original's layout, at the server's top
        top.put(STATUS_DB, {"_id": "kept"})
    with open_store(f"{server.url}?namespace=alice_2") as neighbour:
        neighbour.put(MSGQ, {"_id": "kept"})
    before = server.database_names()
    sandbox = learner_sandbox(server, "alice")
    sandbox.launch(PROG, "uid://X1/X1/Xa0")
    sandbox.wait_for("uid://X1/X1/Xa0", "ReadyForReview", timeout=60)
    assert {f"alice-{db}" for db in DATABASES} <= server.database_names()

    sandbox.discard()

    assert server.database_names() == before
    assert not sandbox.workdir.exists()
    with open_store(f"{server.url}?namespace=alice_2") as neighbour:
        assert [doc["_id"] for doc in neighbour.all_docs(MSGQ)] == ["kept"]
    with open_store(server.url) as top:
        assert [doc["_id"] for doc in top.all_docs(STATUS_DB)] == ["kept"]


def test_a_sandbox_joining_a_namespace_by_url_keeps_its_databases(server: CouchServer) -> None:
    made = learner_sandbox(server, fresh_namespace("alice"))
    joined = Sandbox(store=made.store_url, time_scale=0.0, autopilot=False)
    joined.discard()  # it did not make the namespace: nothing of it goes
    assert made.store.db_names() == sorted(DATABASES)
    made.discard()
    assert server.database_names() == set()


def test_a_namespace_in_use_or_on_sqlite_is_refused(server: CouchServer) -> None:
    open_store(f"{server.url}?namespace=alice").close()
    with pytest.raises(ValueError, match=r"namespace 'alice' on .* has databases already"):
        learner_sandbox(server, "alice")
    with pytest.raises(ValueError, match="needs a CouchDB store URL"):
        Sandbox(namespace="alice", start=False)
