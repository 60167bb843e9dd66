"""``drwlab`` commands join a learner's namespace through the store URL: a terminal pokes
the XTSS of one learner's sandbox on a shared server and nobody else's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drwlab.actors.xtss import Xtss, XtssClient
from drwlab.bus import MessageBus
from drwlab.store import DATABASES, open_store
from drwlab.store.base import Store
from drwlab.store.namespace import fresh_namespace, made_at
from drwlab.wire import MSGQ, STATUS_DB
from tests.servers import CouchServer
from tests.test_cli import PROG, UID, drwlab


@pytest.fixture
def alice(couch_server: CouchServer) -> Iterator[Store]:
    couch_server.drop_all_databases()
    store = open_store(f"{couch_server.url}?namespace=alice")
    try:
        yield store
    finally:
        store.close()
        couch_server.drop_all_databases()


def test_send_and_call_reach_the_namespace_the_url_names(
    couch_server: CouchServer, alice: Store
) -> None:
    with open_store(f"{couch_server.url}?namespace=bob") as bob:
        with MessageBus(alice) as bus, Xtss(bus, alice):
            XtssClient(bus, sender="test").create(UID, PROG, "PipelineCalibration", "EU")
            request = f'{{"operation": "set-state", "ousUID": "{UID}", "value": "Processing"}}'
            called = drwlab("--store", alice.url, "call", "xtss", request, "--timeout", "30")
            assert called.returncode == 0, called.stderr
            assert called.stdout.strip() == "201"
        sent = drwlab("--store", alice.url, "send", "wire.poke", '{"hello": 1}')
        assert sent.returncode == 0, sent.stderr
        assert alice.get(MSGQ, sent.stdout.strip())["body"] == {"hello": 1}
        assert bob.all_docs(STATUS_DB) == [] and bob.all_docs(MSGQ) == []
    refused = drwlab("--store", f"{couch_server.url}?namespace=Alice!", "send", "x", "{}")
    assert refused.returncode != 0 and "invalid namespace" in refused.stderr


OLD = "nb_20200101_000000_0a1b"
"""A notebook's namespace from years ago: its kernel ended without dropping it."""


def _a_class_server(server: CouchServer) -> str:
    """The server as a class leaves it: an instructor's named namespace, a notebook's
    left-over one, one made now, the original's layout at the top and another
    application's database; the fresh one's name."""
    open_store(f"{server.url}?namespace=alice").close()
    open_store(f"{server.url}?namespace={OLD}").close()
    fresh = fresh_namespace()
    open_store(f"{server.url}?namespace={fresh}").close()
    with open_store(server.url) as top:  # the original's own databases
        top.create_db("foo-bar")  # and someone else's, with a '-' in its name
    return fresh


def test_namespaces_lists_each_namespace_with_its_age_and_nothing_else(
    server: CouchServer,
) -> None:
    fresh = _a_class_server(server)
    listed = drwlab("--store", server.url, "namespaces")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1:] for line in listed.stdout.splitlines()[1:]}
    assert rows == {
        "alice": [str(len(DATABASES)), "-"],
        OLD: [str(len(DATABASES)), "2020-01-01", "00:00:00"],
        fresh: [str(len(DATABASES)), *f"{made_at(fresh):%Y-%m-%d %H:%M:%S}".split()],
    }


def test_dropping_left_overs_by_age_keeps_named_and_recent_namespaces(
    server: CouchServer,
) -> None:
    fresh = _a_class_server(server)
    dropped = drwlab("--store", server.url, "namespaces", "--drop-older-than", "24")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.strip() == f"dropped {OLD} ({len(DATABASES)} databases)"
    left = server.database_names()
    assert not [name for name in left if name.startswith(f"{OLD}-")]
    assert {"alice-msgq", f"{fresh}-msgq", "msgq", "foo-bar"} <= left
    again = drwlab("--store", server.url, "namespaces", "--drop-older-than", "24")
    assert (again.returncode, again.stdout.strip()) == (0, "no namespace to drop")


def test_a_namespace_is_dropped_by_name_and_a_missing_one_is_reported(
    server: CouchServer,
) -> None:
    _a_class_server(server)
    before = server.database_names()
    dropped = drwlab(
        "--store", f"{server.url}?namespace=bob", "namespaces", "--drop", "alice", "nobody"
    )
    assert dropped.returncode == 1
    assert dropped.stdout.strip() == f"dropped alice ({len(DATABASES)} databases)"
    assert "no namespace 'nobody'" in dropped.stderr
    assert before - server.database_names() == {f"alice-{db}" for db in DATABASES}
    refused = drwlab("--store", server.url, "namespaces", "--drop", "Bad-name")
    assert refused.returncode == 1 and "invalid namespace" in refused.stderr
    assert "alice-msgq" not in server.database_names()
    sqlite = drwlab("--store", "sqlite:////tmp/drwlab-no-server.db", "namespaces")
    assert sqlite.returncode == 1 and "namespaces are on a CouchDB server" in sqlite.stderr
