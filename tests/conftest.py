"""Shared fixtures: every store-backed test runs on each backend.

The CouchDB side runs against a real CouchDB-compatible server: the project's
own pouchdb-server (started once per test session on a free loopback port) or,
when ``DRWLAB_TEST_COUCHDB_URL`` is set, any Apache CouchDB 3. When neither can
be had the CouchDB tests skip locally, and CI fails on any skip (see .ci/run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.store import Store, open_store, sqlite_url
from tests.servers import CouchServer, start_couch_server

BACKENDS = ("sqlite", "couchdb")


@pytest.fixture(scope="session")
def couch_server() -> Iterator[CouchServer]:
    """One CouchDB-compatible server for the whole session (of this xdist worker).

    Each worker starts its own pouchdb-server. A server given by
    ``DRWLAB_TEST_COUCHDB_URL`` would be shared, and the workers would empty it
    under each other's feet: that takes a single process (``-n 0``).
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if os.environ.get("DRWLAB_TEST_COUCHDB_URL") and workers > 1:
        pytest.fail(
            f"DRWLAB_TEST_COUCHDB_URL is one server for {workers} xdist workers, which empty it "
            "between tests: run with -n 0 (./dev test does)"
        )
    try:
        server = start_couch_server()
    except RuntimeError as error:
        pytest.skip(f"no CouchDB-compatible server: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(couch_server: CouchServer) -> Iterator[CouchServer]:
    """The session's CouchDB-compatible server, empty before and after the test (for
    tests of the server as a whole: namespaces, learners sharing it)."""
    couch_server.drop_all_databases()
    yield couch_server
    couch_server.drop_all_databases()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend a test runs on."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of an empty store of the current backend."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path / "drwlab.db")
        return
    server: CouchServer = request.getfixturevalue("couch_server")
    server.drop_all_databases()
    yield server.url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store of the current backend with the original's databases."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
