"""The original's deployment: every actor its own OS process, started with the CLI, one CouchDB.

Two caches (EU and JAO) replicate with rsync between two directories, AQUA
decides Pass on its own, ``drwlab launch`` sends one OUS through, and at the
end every process gets SIGTERM and exits cleanly.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.errors import NotFound
from drwlab.store import Store, open_store
from drwlab.store.base import Doc
from tests.servers import CouchServer
from tests.test_end_to_end import wait_until_quiet

REPO = Path(__file__).resolve().parent.parent
PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xb0"
DELIVERY_TIMEOUT = 90.0

pytestmark = pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")


class Processes:
    """``python -m drwlab ...`` processes against one store, their output in files."""

    def __init__(self, store_url: str, logs: Path) -> None:
        self.store_url = store_url
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}

    def start(self, name: str, command: str) -> None:
        """Start ``drwlab <command>`` (split like a shell would) in the background."""
        with (self.logs / f"{name}.log").open("wb") as log:
            self.running[name] = subprocess.Popen(
                [sys.executable, "-m", "drwlab", "--store", self.store_url, *shlex.split(command)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.logs,
                env=self.env,
            )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "drwlab", "--store", self.store_url, *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=self.env, check=False
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def dead(self) -> list[str]:
        return [name for name, p in self.running.items() if p.poll() is not None]

    def terminate_all(self, timeout: float = 10.0) -> dict[str, int | None]:
        """SIGTERM to each, then the exit status of each (None: had to be killed)."""
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + timeout
        for name, process in self.running.items():
            try:
                codes[name] = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes[name] = None
        return codes


@pytest.fixture
def processes(couch_server: CouchServer, tmp_path: Path) -> Iterator[Processes]:
    couch_server.drop_all_databases()
    logs = tmp_path / "logs"
    logs.mkdir()
    started = Processes(couch_server.url, logs)
    try:
        yield started
    finally:
        started.terminate_all()


def test_every_actor_in_its_own_process_delivers_an_ous(
    processes: Processes, tmp_path: Path
) -> None:
    eu, jao, runs = tmp_path / "eu-cache", tmp_path / "jao-cache", tmp_path / "pipeline"
    processes.start("xtss", "run xtss")
    processes.start(
        "pipeline-driver",
        f"run pipeline-driver EU {eu} --work-dir {runs} --failure-rate 0 --time-scale 0",
    )
    processes.start("cache-eu", f"run replicated-cache -e EU -lc {eu} -p 0")
    processes.start("cache-jao", f"run replicated-cache -e JAO -lc {jao} -euc {eu} -p 0")
    processes.start("aqua-qa2", f"run aqua-qa2 -lc {jao} --autopilot Pass")
    processes.start("product-ingestor", f"run product-ingestor {jao} --time-scale 0")
    processes.start("data-tracker", "run data-tracker --time-scale 0")

    launched = processes.run("launch", PROG, UID, "PipelineCalibration", "EU")
    assert launched.returncode == 0, launched.stderr

    with open_store(processes.store_url) as store:
        entity = wait_for_state(store, "uid___X1_X1_Xb0", "Delivered", processes)
        assert store.count("ngas", {}) == 6
        assert wait_until_quiet(store) == 0, "every message read (the last RPC reply too)"
    assert [e["state"] for e in entity["history"]][-1] == "Delivered"
    products = [p.name for p in jao.iterdir() if p.name.startswith(PROG)]
    assert products and (eu / products[0]).is_dir(), "the JAO cache pulled the EU products"
    assert any((jao / "weblogs").iterdir()) and any((eu / "weblogs").iterdir())

    codes = processes.terminate_all()
    assert codes == dict.fromkeys(codes, 0), {n: processes.log(n)[-2000:] for n in codes}
    for name in codes:
        assert "Traceback" not in processes.log(name), processes.log(name)


def wait_for_state(store: Store, doc_id: str, state: str, processes: Processes) -> Doc:
    """The entity once it is in ``state``; fails with the processes' logs otherwise."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    current: Doc = {}
    while time.monotonic() < deadline:
        seq = store.current_seq("status-entities")
        try:
            current = store.get("status-entities", doc_id)
        except NotFound:
            current = {}
        if current.get("state") == state:
            return current
        assert not processes.dead(), {n: processes.log(n)[-3000:] for n in processes.dead()}
        store.wait_for_change("status-entities", seq, 1.0)
    logs = {name: processes.log(name)[-1500:] for name in processes.running}
    pytest.fail(f"{doc_id} not {state} in {DELIVERY_TIMEOUT:g} s: {current.get('state')}; {logs}")
