"""Delivery across OS processes: competing consumers, and a consumer killed mid-message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from drwlab.bus import MessageBus
from drwlab.store import Store
from tests.bus.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes started by the test; killed at the end whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def start_worker(
    workers: list[subprocess.Popen[bytes]], url: str, selector: str, results: Path, *args: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bus.worker", url, selector, str(results), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
    )
    workers.append(process)
    return process


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.slow
def test_two_processes_of_two_threads_handle_each_message_exactly_once(
    store: Store, store_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    total = 2000
    bus = MessageBus(store)
    results = [tmp_path / "a.txt", tmp_path / "b.txt"]
    go = tmp_path / "go"
    for path in results:
        # 5 ms per message: no process can finish the queue before the other has started
        args = ("--threads", "2", "--work", "0.005", "--go", str(go))
        start_worker(workers, store_url, "contended", path, *args)
    # all queued first (from four threads, to be quick): four listeners race for one backlog
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: bus.send("contended", n), range(total)))
    wait_until(lambda: all("ready" in lines(path) for path in results), timeout=30)
    go.touch()
    wait_until(lambda: sum(len(lines(p)) - 1 for p in results) >= total, timeout=90)
    done = {"selector": "contended", "state": "done"}
    wait_until(lambda: store.count("msgq", done) == total, timeout=30)
    time.sleep(0.5)  # a double delivery would show up now
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        assert process.wait(30) == 0
    counts = Counter(int(x) for p in results for x in lines(p) if x != "ready")
    assert sorted(counts) == list(range(total))
    assert set(counts.values()) == {1}
    shares = [len(lines(p)) - 1 for p in results]
    assert all(shares), f"both processes took part (handled {shares})"


@pytest.mark.slow
def test_a_message_of_a_killed_consumer_is_handled_by_another_after_its_lease(
    store: Store, store_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    lease = 1.5
    results = tmp_path / "victim.txt"
    victim = start_worker(workers, store_url, "fragile", results, "--hang", "--lease", str(lease))
    wait_until(lambda: "ready" in lines(results), timeout=30)
    bus = MessageBus(store, lease=lease)
    try:
        msg_id = bus.send("fragile", "precious")
        wait_until(lambda: "precious" in lines(results), timeout=10)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()
        received: list[Any] = []
        bus.listen("fragile", received.append, name="survivor")
        wait_until(lambda: received, timeout=lease * 4)
        assert received == ["precious"]
        assert time.monotonic() - killed_at >= lease / 2
        wait_until(lambda: store.get("msgq", msg_id)["state"] == "done")
        doc = store.get("msgq", msg_id)
        assert doc["attempts"] == 2
        assert doc["handledBy"].startswith("survivor@")
        assert doc["error"].startswith("LeaseExpired: ")
    finally:
        bus.close()
