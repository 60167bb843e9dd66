"""The original's clients and one learner's namespace on a shared server.

The original names its databases in its scripts (``msgq``, ``status-entities``, at
``http://localhost:5984``), but its library takes them as arguments: the message queue's
``queueName`` and every ``DbConnection`` call's ``database``. So the original's own layout
is the server's top (no namespace), and inside a namespace its library works when given the
prefixed names (``alice-msgq``); these tests check both, and that nothing crosses over.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.store import open_store
from drwlab.store.couchdb import CouchDBStore
from drwlab.store.namespace import qualified
from drwlab.uids import uid_to_doc_id
from drwlab.wire import MSGQ, STATUS_DB
from tests.actors.conftest import PROG, UID
from tests.actors.original import HttpDatabase, OriginalQueue, OriginalXtssClient
from tests.servers import CouchServer

NAMESPACE = "alice"


@pytest.fixture
def learner(couch_server: CouchServer) -> Iterator[CouchDBStore]:
    """The XTSS of learner ``alice``, running in her namespace of the shared server."""
    couch_server.drop_all_databases()
    store = open_store(f"{couch_server.url}?namespace={NAMESPACE}")
    assert isinstance(store, CouchDBStore)
    bus = MessageBus(store, lease=5.0, retry_delay=0.05)
    xtss = Xtss(bus, store).start()
    try:
        yield store
    finally:
        xtss.stop()
        bus.close()
        store.close()
        couch_server.drop_all_databases()


def create_request(uid: str) -> dict[str, str]:
    return {
        "operation": "create",
        "ousUID": uid,
        "progID": PROG,
        "recipe": "PipelineCalibration",
        "executive": "EU",
    }


def test_the_original_client_given_the_namespace_s_queue_talks_to_its_xtss(
    couch_server: CouchServer, learner: CouchDBStore
) -> None:
    database = HttpDatabase(couch_server.url)
    client = OriginalXtssClient(OriginalQueue(database, queue=qualified(NAMESPACE, MSGQ)))

    assert client.call(create_request(UID)) == 201  # the original XTSS's answer
    found = client.call({"operation": "get-ouss-by-state-substate", "state": "ReadyForProcessing"})
    assert [ous["entityId"] for ous in found] == [UID]
    status, doc = database.find_one(qualified(NAMESPACE, STATUS_DB), uid_to_doc_id(UID))
    assert status == 200 and doc["progID"] == PROG  # the original reads it where it is
    assert learner.get(STATUS_DB, uid_to_doc_id(UID))["state"] == "ReadyForProcessing"


def test_the_original_s_own_layout_at_the_top_never_reaches_a_namespace(
    couch_server: CouchServer, learner: CouchDBStore
) -> None:
    open_store(couch_server.url).close()  # the original's databases, at the server's top
    top = OriginalXtssClient(OriginalQueue(HttpDatabase(couch_server.url)))  # queue "msgq"

    [request] = top.queue.send(create_request(UID), "xtss", msgback=True)

    assert top.queue.get_next(request["msgbackID"], timeout=2.0) is None  # no XTSS up there
    assert learner.all_docs(STATUS_DB) == []
    assert [doc["selector"] for doc in learner.all_docs(MSGQ)] == []
