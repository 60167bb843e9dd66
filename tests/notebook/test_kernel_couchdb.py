"""A notebook on CouchDB: ``DRWLAB_STORE`` set to a server gives each notebook run empty
databases of its own there (a fresh namespace), shown under the links with the server's web
UI, and dropped when the sandbox stops or the kernel ends; a killed kernel leaves them, dated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from drwlab import notebook
from drwlab.notebook import helpers
from drwlab.notebook.where import store_location
from drwlab.sandbox import Sandbox
from drwlab.store import DATABASES, drop_namespace
from drwlab.store.couchdb import CouchDBStore
from drwlab.store.namespace import split_namespace
from drwlab.wire import STATUS_DB
from tests.servers import CouchServer

PROG = "2015.1.00657.S"


@pytest.fixture
def server(server: CouchServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[CouchServer]:
    """conftest's empty server, as the notebooks' store (``DRWLAB_STORE``); the sandbox
    stopped after."""
    monkeypatch.setenv("DRWLAB_STORE", server.url)
    monkeypatch.setenv("DRWLAB_TIME_SCALE", "0")
    yield server
    notebook.stop_sandbox()


def test_each_notebook_run_gets_empty_databases_of_its_own(server: CouchServer) -> None:
    first = notebook.start_sandbox(seed=1, failure_rate=0.0)
    first_namespace = split_namespace(first.store_url)[1]
    assert first_namespace is not None and first_namespace.startswith("nb_")
    first.launch(PROG, "uid://X1/X1/Xa0")  # returns with the OUS in the first namespace
    assert len(first.store.all_docs(STATUS_DB)) == 1  # (the pipeline may be past it already)

    second = notebook.start_sandbox(seed=1, failure_rate=0.0)  # a second Run All, as it was

    second_namespace = split_namespace(second.store_url)[1]
    assert second_namespace not in (None, first_namespace)
    assert second.store.all_docs(STATUS_DB) == []
    assert not [name for name in server.database_names() if name.startswith(first_namespace)]
    third = notebook.start_sandbox(seed=2, failure_rate=0.0)  # a run with other options
    assert not [name for name in server.database_names() if name.startswith(second_namespace)]
    assert split_namespace(third.store_url)[1] not in (None, first_namespace, second_namespace)
    notebook.stop_sandbox()
    assert server.database_names() == set()


def test_a_learner_s_namespace_in_the_url_names_the_notebook_s(
    server: CouchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRWLAB_STORE", f"{server.url}?namespace=alice")
    sandbox = notebook.start_sandbox(seed=1)
    namespace = split_namespace(sandbox.store_url)[1]
    assert namespace is not None and namespace.startswith("alice_20")
    assert {f"{namespace}-{db}" for db in DATABASES} == server.database_names()


def test_the_links_say_where_the_databases_are_and_open_the_web_ui(
    server: CouchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(helpers, "_show_html", shown.append)
    sandbox = notebook.start_sandbox(seed=1)
    namespace = split_namespace(sandbox.store_url)[1]

    notebook.links(sandbox)

    where = shown[1]
    assert f"<code>{server.url}</code>" in where and f"<code>{namespace}</code>" in where
    location = store_location(sandbox)
    for db in DATABASES:
        assert f'href="{location.database_url(db)}" title="{namespace}-{db}"' in where
        assert f">{db}</a>" in where
    assert f"on the server <code>{namespace}-</code> followed by the name" in where
    assert f'href="{server.url}/_utils/"' in where
    fauxton = requests.get(f"{server.url}/_utils/", timeout=10)
    assert fauxton.status_code == 200 and "<html" in fauxton.text.lower()


def test_the_links_name_the_sqlite_file_without_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRWLAB_STORE", raising=False)
    monkeypatch.setenv("DRWLAB_TIME_SCALE", "0")
    shown: list[str] = []
    monkeypatch.setattr(helpers, "_show_html", shown.append)
    try:
        sandbox = notebook.start_sandbox(seed=1)
        notebook.links(sandbox)
    finally:
        notebook.stop_sandbox()
    assert f"the embedded SQLite file <code>{sandbox.workdir}/drwlab.db</code>" in shown[1]
    assert "_utils" not in shown[1]


KERNEL = (
    "from drwlab.notebook import start_sandbox\n"
    "print(start_sandbox(seed=1, failure_rate=0.0).store_url, flush=True)\n"
)


def test_a_kernel_ending_drops_its_namespace(server: CouchServer) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KERNEL], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "?namespace=nb_" in done.stdout
    assert server.database_names() == set()


def test_a_killed_kernel_leaves_its_dated_namespace_to_drop_by_hand(server: CouchServer) -> None:
    program = KERNEL + "import time; time.sleep(60)\n"
    kernel = subprocess.Popen(
        [sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert kernel.stdout is not None
        url = kernel.stdout.readline().strip()
    finally:
        kernel.send_signal(signal.SIGKILL)
        kernel.wait(timeout=30)
        if kernel.stdout is not None:
            kernel.stdout.close()
    namespace = split_namespace(url)[1]
    assert namespace is not None
    assert {f"{namespace}-{db}" for db in DATABASES} == server.database_names()
    with CouchDBStore(server.url) as top:  # an instructor looking at the whole server
        assert f"{namespace}-msgq" in top.db_names()
    assert drop_namespace(url) == sorted(DATABASES)
    assert server.database_names() == set()


def test_a_sandbox_that_fails_to_start_leaves_no_namespace_and_no_work_dir(
    server: CouchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Sandbox] = []
    real_start = Sandbox.start

    def start_then_fail(sandbox: Sandbox) -> Sandbox:
        made.append(sandbox)
        real_start(sandbox)
        raise RuntimeError("a port already taken, say")

    monkeypatch.setattr(Sandbox, "start", start_then_fail)
    with pytest.raises(RuntimeError, match="port already taken"):
        notebook.start_sandbox(seed=1, failure_rate=0.0)
    assert len(made) == 1 and not made[0].running and not made[0].workdir.exists()
    assert server.database_names() == set()
