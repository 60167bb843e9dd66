"""``drwlab`` commands join a learner's namespace through the store URL: a terminal pokes
the XTSS of one learner's sandbox on a shared server and nobody else's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drwlab.actors.xtss import Xtss, XtssClient
from drwlab.bus import MessageBus
from drwlab.store import open_store
from drwlab.store.base import Store
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
