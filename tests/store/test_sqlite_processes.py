"""Several OS processes on one SQLite file: no lost update, one winner per revision, wake-ups.

The workers run in spawned processes (a fresh interpreter each, as the CLI's
actors do) and open the file themselves; they meet at a "go" document so
that their writes really race.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from drwlab.errors import Conflict, NotFound
from drwlab.store.sqlite import SQLiteStore

DB = "status-entities"
WORKERS = 2
TIMEOUT = 60.0


def _wait_for_doc(store: SQLiteStore, doc_id: str, timeout: float = TIMEOUT) -> None:
    """Block until ``doc_id`` exists in ``DB`` (on the change feed, no sleeping)."""
    deadline = time.monotonic() + timeout
    while True:
        since = store.current_seq(DB)
        try:
            store.get(DB, doc_id)
            return
        except NotFound:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{doc_id} did not appear within {timeout} s")
        store.wait_for_change(DB, since, timeout=deadline - time.monotonic())


def _meet(store: SQLiteStore, name: str) -> None:
    store.put(DB, {"_id": f"ready-{name}"})
    _wait_for_doc(store, "go")


def _increment(path: str, name: str, times: int) -> int:
    """Add 1 to the counter ``times`` times, retrying on conflicts; how many conflicts."""
    with SQLiteStore(Path(path)) as store:
        _meet(store, name)
        conflicts = 0
        for _ in range(times):
            while True:
                doc = store.get(DB, "counter")
                try:
                    store.put(DB, {**doc, "count": doc["count"] + 1})
                    break
                except Conflict:
                    conflicts += 1
        return conflicts


def _claim_all(path: str, name: str, ids: list[str]) -> list[str]:
    """Read every task's revision, then claim each at that revision; the ids won."""
    with SQLiteStore(Path(path)) as store:
        tasks = [store.get(DB, doc_id) for doc_id in ids]
        _meet(store, name)
        won = []
        for task in tasks:
            try:
                store.put(DB, {**task, "claimedBy": name})
                won.append(task["_id"])
            except Conflict:
                pass
        return won


def _wait_for_msgq(path: str) -> tuple[bool, float]:
    """Wait for a change of msgq after now; whether it came, and when (epoch seconds)."""
    with SQLiteStore(Path(path)) as store:
        since = store.current_seq("msgq")
        store.put(DB, {"_id": "ready-waiter"})
        changed = store.wait_for_change("msgq", since, timeout=TIMEOUT)
        return changed, time.time()


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "shared.db"
    with SQLiteStore(path) as store:
        store.ensure_databases()
    yield path


@pytest.fixture
def pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(WORKERS, mp_context=get_context("spawn")) as executor:
        yield executor


def _go(store: SQLiteStore, names: list[str]) -> None:
    for name in names:
        _wait_for_doc(store, f"ready-{name}")
    store.put(DB, {"_id": "go"})


def test_processes_incrementing_one_counter_lose_no_update(
    db_path: Path, pool: ProcessPoolExecutor
) -> None:
    times = 150
    with SQLiteStore(db_path) as store:
        store.put(DB, {"_id": "counter", "count": 0})
        names = [f"w{i}" for i in range(WORKERS)]
        futures = [pool.submit(_increment, str(db_path), name, times) for name in names]
        _go(store, names)
        for future in futures:
            future.result(timeout=TIMEOUT)  # conflicts retried: how many depends on scheduling
        counter = store.get(DB, "counter")
    assert counter["count"] == WORKERS * times
    assert counter["_rev"].startswith(f"{WORKERS * times + 1}-")


def test_of_processes_claiming_at_one_revision_exactly_one_wins_each(
    db_path: Path, pool: ProcessPoolExecutor
) -> None:
    ids = [f"task-{i:03d}" for i in range(150)]
    with SQLiteStore(db_path) as store:
        store.bulk_put(DB, [{"_id": doc_id, "claimedBy": None} for doc_id in ids])
        names = [f"w{i}" for i in range(WORKERS)]
        futures = [pool.submit(_claim_all, str(db_path), name, ids) for name in names]
        _go(store, names)
        won = {
            name: future.result(timeout=TIMEOUT)
            for name, future in zip(names, futures, strict=True)
        }
        owners = {doc_id: store.get(DB, doc_id)["claimedBy"] for doc_id in ids}
    assert sorted(doc_id for claimed in won.values() for doc_id in claimed) == ids
    for name, claimed in won.items():
        assert all(owners[doc_id] == name for doc_id in claimed)


def test_a_waiter_in_another_process_wakes_on_a_write(
    db_path: Path, pool: ProcessPoolExecutor
) -> None:
    with SQLiteStore(db_path) as store:
        future = pool.submit(_wait_for_msgq, str(db_path))
        _wait_for_doc(store, "ready-waiter")
        written = time.time()
        store.put("msgq", {"selector": "wake"})
        changed, woke = future.result(timeout=TIMEOUT)
    assert changed
    assert woke - written < 1.0
