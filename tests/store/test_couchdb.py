"""What only the CouchDB backend has to get right: credentials, outages, long-polls, paging.

The shared behaviour is in the contract suite; these run against the session's
CouchDB-compatible server (pouchdb-server unless DRWLAB_TEST_COUCHDB_URL is set).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from drwlab.errors import Conflict, NotFound, StoreError, StoreUnavailable
from drwlab.settings import Settings
from drwlab.store import DATABASES, open_store
from drwlab.store.couchdb import CouchDBStore
from tests import servers
from tests.servers import CouchServer, auth_proxy

SECRET = "s3cret-pw"


@pytest.fixture
def couch(couch_server: CouchServer) -> Iterator[CouchDBStore]:
    """An empty CouchDB store with the original's databases."""
    couch_server.drop_all_databases()
    store = CouchDBStore(couch_server.url)
    store.ensure_databases()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def guarded_url(couch_server: CouchServer) -> Iterator[str]:
    """The session server behind a proxy that wants ``admin``/``SECRET``."""
    couch_server.drop_all_databases()
    with auth_proxy(couch_server.url, "admin", SECRET) as url:
        yield url


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _everything_shown(error: BaseException) -> str:
    """The message and the whole traceback, chained causes included, as a user sees them."""
    return str(error) + "".join(traceback.format_exception(error))


# -- credentials -------------------------------------------------------------------


def test_the_url_and_repr_hide_the_password_from_the_url_or_the_arguments() -> None:
    from_url = CouchDBStore(f"http://admin:{SECRET}@127.0.0.1:5984/")
    from_arguments = CouchDBStore("http://127.0.0.1:5984", user="admin", password=SECRET)
    for store in (from_url, from_arguments):
        assert store.url == "http://admin:***@127.0.0.1:5984"
        assert SECRET not in repr(store)
        store.close()


def test_a_password_never_shows_when_the_server_cannot_be_reached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = CouchDBStore(f"http://admin:{SECRET}@127.0.0.1:{_closed_port()}")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        store.get("msgq", "some-doc")
    assert time.monotonic() - started < 2.0
    assert "admin:***@127.0.0.1" in str(caught.value)
    assert "get msgq/some-doc" in str(caught.value)
    assert SECRET not in _everything_shown(caught.value)
    assert SECRET not in caplog.text
    assert "admin:***@127.0.0.1" in caplog.text


def test_a_password_never_shows_when_the_server_refuses_it(
    guarded_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = CouchDBStore(guarded_url, user="admin", password="wrong-" + SECRET)
    with pytest.raises(StoreError, match="refused the credentials") as caught:
        store.create_db("msgq")
    assert not isinstance(caught.value, StoreUnavailable)
    assert SECRET not in _everything_shown(caught.value)
    assert SECRET not in caplog.text
    assert "admin:***@127.0.0.1" in caplog.text


def test_a_password_never_shows_in_conflicts_misses_or_logs(
    guarded_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = CouchDBStore(guarded_url.replace("http://", f"http://admin:{SECRET}@"))
    store.ensure_databases()
    store.put("msgq", {"_id": "m1"})
    with pytest.raises(Conflict) as conflict:
        store.put("msgq", {"_id": "m1"})
    with pytest.raises(NotFound) as missing:
        store.get("msgq", "m2")
    assert store.get("msgq", "m1")["_id"] == "m1"
    for error in (conflict.value, missing.value):
        assert SECRET not in _everything_shown(error)
    assert SECRET not in caplog.text
    assert "admin:***@127.0.0.1" in caplog.text
    assert SECRET not in repr(store)


def test_open_store_takes_the_credentials_from_the_settings(guarded_url: str) -> None:
    settings = Settings(couchdb_user="admin", couchdb_password=SECRET)
    with open_store(guarded_url, settings=settings) as store:
        assert store.db_names() == sorted(DATABASES)
        assert store.url == guarded_url.replace("http://", "http://admin:***@")


def test_the_proxy_of_the_environment_is_used_unless_no_proxy_names_the_host(
    couch_server: CouchServer, couch: CouchDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    couch.put("msgq", {"_id": "seen"})
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with CouchDBStore(couch_server.url) as through_proxy, pytest.raises(StoreUnavailable):
        through_proxy.get("msgq", "seen")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with CouchDBStore(couch_server.url) as direct:
        assert direct.get("msgq", "seen")["_id"] == "seen"


# -- outages -----------------------------------------------------------------------


def test_a_stopped_server_is_unavailable_and_a_restarted_one_keeps_its_data(
    couch_server: CouchServer, couch: CouchDBStore
) -> None:
    if not couch_server.is_ours:
        pytest.skip("only a server this test session started can be stopped")
    written = couch.put("msgq", {"_id": "kept", "body": {"n": 1}})
    couch_server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            couch.get("msgq", "kept")
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            couch.wait_for_change("msgq", 0, timeout=5.0)
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            couch.put("msgq", {"_id": "lost"})
        assert time.monotonic() - started < 3.0
    finally:
        couch_server.resume()
    assert couch.get("msgq", "kept") == written
    assert couch.find("msgq", {"body.n": 1}) == [written]


# -- long-poll ---------------------------------------------------------------------


def test_a_wait_without_changes_returns_false_near_its_timeout(couch: CouchDBStore) -> None:
    since = couch.current_seq("msgq")
    started = time.monotonic()
    assert couch.wait_for_change("msgq", since, timeout=0.5) is False
    assert 0.4 < time.monotonic() - started < 1.5


@pytest.mark.slow
def test_a_wait_longer_than_pouchdbs_heartbeat_still_ends_at_its_timeout(
    couch: CouchDBStore,
) -> None:
    # pouchdb-server writes a newline every 6 s unless asked not to
    since = couch.current_seq("msgq")
    started = time.monotonic()
    assert couch.wait_for_change("msgq", since, timeout=6.5) is False
    assert 6.4 < time.monotonic() - started < 7.5


def test_a_wait_returns_true_soon_after_another_thread_writes(couch: CouchDBStore) -> None:
    since = couch.current_seq("msgq")
    writer = threading.Timer(0.2, couch.put, args=("msgq", {"_id": "wake"}))
    started = time.monotonic()
    writer.start()
    try:
        assert couch.wait_for_change("msgq", since, timeout=10.0) is True
    finally:
        writer.join()
    assert time.monotonic() - started < 2.0


def test_a_wait_after_an_earlier_change_returns_true_at_once(couch: CouchDBStore) -> None:
    since = couch.current_seq("msgq")
    couch.put("msgq", {"_id": "early"})
    started = time.monotonic()
    assert couch.wait_for_change("msgq", since, timeout=10.0) is True
    assert time.monotonic() - started < 1.0


def test_many_abandoned_waits_leave_the_server_responsive(couch: CouchDBStore) -> None:
    since = couch.current_seq("msgq")
    for _ in range(10):
        assert couch.wait_for_change("msgq", since, timeout=0.05) is False
    couch.put("msgq", {"_id": "after"})
    assert couch.wait_for_change("msgq", since, timeout=5.0) is True


# -- continuous feed ---------------------------------------------------------------


def test_a_followed_feed_brings_a_change_within_milliseconds(couch: CouchDBStore) -> None:
    feed = couch.follow_changes("msgq", couch.current_seq("msgq"), heartbeat=0.5, limit=10)
    try:
        assert next(feed) is None  # the first heartbeat: the feed is open
        written = time.monotonic()
        couch.put("msgq", {"_id": "streamed"})
        page = next(page for page in feed if page is not None)
        arrived = time.monotonic()
    finally:
        feed.close()
    assert [change.id for change in page.changes] == ["streamed"]
    assert arrived - written < 0.5  # a line on the open connection, not a heartbeat later


def test_a_feed_held_back_by_a_buffering_proxy_falls_back_to_long_polls(
    guarded_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the test proxy, like a proxy that buffers whole answers, passes nothing of a
    # continuous feed on (it never ends): the store must notice, say so, and still follow
    store = CouchDBStore(guarded_url, user="admin", password=SECRET)
    store.ensure_databases()
    feed = store.follow_changes("msgq", store.current_seq("msgq"), heartbeat=0.2, limit=10)
    try:
        with caplog.at_level(logging.WARNING, logger="drwlab.store.couchdb"):
            next(feed)  # the continuous feed times out; from here on, long-polls
        store.put("msgq", {"_id": "behind-a-proxy"})
        page = next(page for page in feed if page is not None)
    finally:
        feed.close()
        store.close()
    assert [change.id for change in page.changes] == ["behind-a-proxy"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "long-polls" in warnings[0]
    assert SECRET not in warnings[0]


# -- queries -----------------------------------------------------------------------


def test_find_returns_every_match_past_couchdbs_page_of_25(couch: CouchDBStore) -> None:
    couch.bulk_put("ngas", [{"_id": f"f{i:03}", "n": i} for i in range(60)])
    assert len(couch.find("ngas", {"n": {"$gte": 0}})) == 60
    assert couch.count("ngas", {"n": {"$lt": 40}}) == 40
    page = couch.find("ngas", {"n": {"$gte": 0}}, sort=["n"], skip=25, limit=30)
    assert [doc["n"] for doc in page] == list(range(25, 55))


def test_limit_and_skip_are_exact_on_an_indexed_range(couch: CouchDBStore) -> None:
    # pouchdb-server limits before dropping the rows equal to a $gt bound
    couch.bulk_put("ngas", [{"n": i // 3} for i in range(30)])
    couch.ensure_index("ngas", ["n"])
    found = couch.find("ngas", {"n": {"$gt": 2}}, sort=["n"], limit=4, skip=1)
    assert [doc["n"] for doc in found] == [3, 3, 4, 4]
    assert len(couch.find("ngas", {"n": {"$gt": 2}}, limit=5)) == 5


def test_indexes_never_show_as_documents_or_changes(couch: CouchDBStore) -> None:
    couch.put("msgq", {"_id": "m1", "selector": "x"})
    couch.ensure_index("msgq", ["selector"])
    couch.ensure_index("msgq", ["selector"])
    assert [doc["_id"] for doc in couch.all_docs("msgq")] == ["m1"]
    assert [change.id for change in couch.changes("msgq").changes] == ["m1"]
    assert [doc["_id"] for doc in couch.find("msgq", {})] == ["m1"]


def test_ids_and_database_names_that_need_quoting_round_trip(couch: CouchDBStore) -> None:
    # no "/" in the name: pouchdb-server drops it from _all_dbs (CouchDB allows it)
    couch.create_db("a-b_c$d(e)+f")
    ids = ["group:x", "uid___X1_X2_X3", "a/b", "sp ace?#&%", "ünï"]
    for doc_id in ids:
        couch.put("a-b_c$d(e)+f", {"_id": doc_id})
    assert [doc["_id"] for doc in couch.all_docs("a-b_c$d(e)+f")] == sorted(ids)
    assert "a-b_c$d(e)+f" in couch.db_names()


def test_deleting_with_a_made_up_revision_is_a_conflict(couch: CouchDBStore) -> None:
    # pouchdb-server answers 404 for a revision it never saw
    couch.put("msgq", {"_id": "m1"})
    with pytest.raises(Conflict):
        couch.delete("msgq", "m1", "1-0123456789abcdef0123456789abcdef")
    with pytest.raises(NotFound):
        couch.delete("msgq", "nothing", "1-0123456789abcdef0123456789abcdef")


def test_twenty_threads_share_one_store(couch: CouchDBStore) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                doc = couch.put("msgq", {"_id": f"w{worker}-{i}"})
                assert couch.get("msgq", doc["_id"])["_rev"] == doc["_rev"]
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(couch.all_docs("msgq")) == 200


# -- the test server ---------------------------------------------------------------


def test_a_missing_pouchdb_server_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DRWLAB_TEST_COUCHDB_URL", raising=False)
    monkeypatch.setattr(servers, "POUCHDB_SERVER", tmp_path / "pouchdb-server")
    with pytest.raises(RuntimeError, match="missing: run `npm install`"):
        servers.start_couch_server()


def test_the_project_s_server_writes_no_log_line_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At log level info pouchdb-server writes each request to log.txt and echoes it, a
    fifth of its CPU per request (bench/README.md): scripts/couchdb-server turns it off."""
    monkeypatch.delenv("DRWLAB_TEST_COUCHDB_URL", raising=False)
    with servers.start_couch_server() as server, CouchDBStore(server.url) as store:
        store.ensure_databases(["logcheck"])
        for n in range(20):
            store.put("logcheck", {"_id": f"doc{n}", "n": n})
        assert store.get("logcheck", "doc19")["n"] == 19
        logs = server.logs()
    assert "PUT /logcheck/doc" not in logs and "GET /logcheck/doc" not in logs, logs[-500:]


def test_the_project_s_server_leaves_out_what_drwlab_never_uses_and_keeps_fauxton(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scripts/pouchdb-server-lean.js leaves out parts of pouchdb-server that cost every
    request (bench/README.md): the check of validate_doc_update functions, which read every
    design document (drwlab's indexes among them) before each write, and gzip. What a
    person opens on it, Fauxton and the session, still answers."""
    monkeypatch.delenv("DRWLAB_TEST_COUCHDB_URL", raising=False)
    with servers.start_couch_server() as server, CouchDBStore(server.url) as store:
        store.ensure_databases(["leancheck"])
        store.ensure_index("leancheck", ["kind"])
        refuse_all = "function (newDoc) { throw({forbidden: 'no writes here'}); }"
        guard = requests.put(  # drwlab's store writes no design documents but its indexes
            f"{server.url}/leancheck/_design/guard",
            json={"validate_doc_update": refuse_all},
            timeout=10,
        )
        assert guard.status_code == 201, guard.text
        store.put("leancheck", {"_id": "doc", "kind": "k" * 2000})
        assert store.get("leancheck", "doc")["kind"] == "k" * 2000
        asked_for_gzip = requests.get(
            f"{server.url}/leancheck/doc", headers={"Accept-Encoding": "gzip"}, timeout=10
        )
        assert asked_for_gzip.status_code == 200
        assert "Content-Encoding" not in asked_for_gzip.headers
        fauxton = requests.get(f"{server.url}/_utils/", timeout=10)
        assert fauxton.status_code == 200 and "<html" in fauxton.text.lower()
        session = requests.get(f"{server.url}/_session", timeout=10)
        assert session.status_code == 200 and session.json()["ok"] is True


def test_an_external_server_that_does_not_answer_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRWLAB_TEST_COUCHDB_URL", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(RuntimeError, match="does not answer"):
        servers.start_couch_server()
