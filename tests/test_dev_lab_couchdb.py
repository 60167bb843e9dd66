"""``./dev lab --couchdb``, the README's one line for CouchDB: it starts the project's
CouchDB-compatible server on a free loopback port, runs JupyterLab with ``DRWLAB_STORE`` set
to it (a kernel's notebook sandbox lands in a namespace of its own there, dropped when the
kernel shuts down), and stops the server with JupyterLab."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
import requests
from jupyter_client import BlockingKernelClient

from tests.servers import CouchServer
from tests.test_dev_lab import Lab

pytestmark = pytest.mark.slow

SERVER_LINE = re.compile(r"notebooks on CouchDB: DRWLAB_STORE=(http://127\.0\.0\.1:(\d+)) ")
KERNEL_TIMEOUT = 120.0
NOTEBOOK_CELL = (
    "from drwlab import notebook as nb\n"
    "sb = nb.start_sandbox(time_scale=0)\n"
    "print(sb.store_url, sorted(sb.store.db_names()))\n"
)


def server_of(lab: Lab) -> tuple[str, int]:
    found = SERVER_LINE.search(lab.log.read_text(errors="replace"))
    assert found, lab.log.read_text(errors="replace")
    return found.group(1), int(found.group(2))


def api(lab: Lab) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"token {lab.token}"
    return session


def wait_for_kernel(client: BlockingKernelClient) -> None:
    """Until the kernel answers: a client seeing no heartbeat yet takes a kernel still
    starting for a dead one, so it asks again."""
    deadline = time.monotonic() + KERNEL_TIMEOUT
    while True:
        try:
            client.wait_for_ready(timeout=KERNEL_TIMEOUT)
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_in_a_kernel(lab: Lab, runtime: Path, code: str) -> str:
    """Start a kernel through JupyterLab, run ``code`` in it, shut it down; its stdout."""
    kernel = api(lab).post(f"{lab.url}/api/kernels", json={"name": "python3"}, timeout=30)
    kernel_id = kernel.json()["id"]
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    printed: list[str] = []
    try:
        wait_for_kernel(client)
        reply = client.execute_interactive(
            code, timeout=KERNEL_TIMEOUT, output_hook=lambda msg: printed.append(
                msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""
            )
        )  # fmt: skip
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        api(lab).delete(f"{lab.url}/api/kernels/{kernel_id}", timeout=60)
    return "".join(printed)


def test_dev_lab_couchdb_runs_the_notebooks_on_its_own_server_and_stops_it(
    tmp_path: Path,
) -> None:
    lab = Lab(tmp_path, "--couchdb")
    try:
        assert lab.wait_until_serving().status_code == 200
        url, port = server_of(lab)
        welcome = requests.get(url, timeout=10).json()
        assert "couchdb" in welcome or "express-pouchdb" in welcome
        assert welcome.get("pouchdb-adapters") == ["memory"]  # thrown away at the end anyway
        assert requests.get(f"{url}/_utils/", timeout=10).status_code == 200  # Fauxton

        printed = run_in_a_kernel(lab, tmp_path / "runtime", NOTEBOOK_CELL)

        namespace = re.search(r"\?namespace=(nb_\w+) ", printed)
        assert printed.startswith(f"{url}?namespace=nb_") and namespace, printed
        assert "'msgq'" in printed
        deadline = time.monotonic() + 30  # the kernel drops its namespace as it ends
        while CouchServer(url).database_names() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert CouchServer(url).database_names() == set()
    finally:
        status = lab.stop()
    assert status in (143, 0, -signal.SIGTERM)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    running = [
        p for p in Path("/proc").glob("[0-9]*/cmdline")
        if f"--port={port}".encode() in _read(p)
    ]  # fmt: skip
    assert running == []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def test_dev_lab_couchdb_takes_a_server_url(tmp_path: Path, couch_server: CouchServer) -> None:
    couch_server.drop_all_databases()
    url = couch_server.url
    lab = Lab(tmp_path, "--couchdb", f"{url}?namespace=alice")
    try:
        assert lab.wait_until_serving().status_code == 200
        assert f"DRWLAB_STORE={url}?namespace=alice " in lab.log.read_text()
        printed = run_in_a_kernel(lab, tmp_path / "runtime", NOTEBOOK_CELL)
        assert printed.startswith(f"{url}?namespace=alice_20"), printed
    finally:
        lab.stop()
    assert requests.get(url, timeout=5).status_code == 200  # not ours: left running
    assert not [name for name in CouchServer(url).database_names() if "alice_" in name]
