"""Disk errors in a cache: a read-only or a missing cache directory.

A read-only directory is made for real: as root (for whom permission bits
mean nothing) a tmpfs is mounted on the cache directory and remounted
read-only, so every write fails with EROFS, as on a full or failed disk;
otherwise the directory loses its write permission. A missing directory is
one removed while the actor runs.

The replicated cache must dead-letter the message with an error naming the
directory and the cause, and the pipeline driver must put the OUS in
ProcessingProblem with that reason; both stay alive and work again once the
directory is writable or back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.launcher import Launcher
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.replicated_cache import ReplicatedCache
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.store import Store
from drwlab.uids import uid_to_doc_id
from tests.reliability.files import a_zip, wait_settled, wait_until

PROG = "2015.1.00657.S"
WEBLOG = "weblog-X1-X1-Xa{n}-2018_07_19T07_10_03.781.zip"
READ_ONLY = ("Read-only file system", "Permission denied")


class Switchable:
    """A directory that can be made read-only and writable again, for real."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False

    def __enter__(self) -> Switchable:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._mount("rw,size=16m")
            self.mounted = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)
        elif self.path.exists():
            self.path.chmod(0o755)

    def _mount(self, options: str, *, remount: bool = False) -> None:
        command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(self.path)]
        if remount:
            command = ["mount", "-o", f"remount,{options}", str(self.path)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"cannot mount a tmpfs as root: {done.stderr}"

    def read_only(self) -> None:
        if self.mounted:
            self._mount("ro", remount=True)
        else:
            self.path.chmod(0o555)
        with pytest.raises(OSError):
            (self.path / "probe").write_text("the directory is still writable")

    def writable(self) -> None:
        if self.mounted:
            self._mount("rw", remount=True)
        else:
            self.path.chmod(0o755)

    def remove(self) -> None:
        """The directory is gone (unmounted first)."""
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=True)
            self.mounted = False
        shutil.rmtree(self.path)


@pytest.fixture
def bus(store: Store) -> Iterator[MessageBus]:
    opened = MessageBus(store, lease=10.0, max_attempts=2, retry_delay=0.05)
    try:
        yield opened
    finally:
        opened.close()


def cached(bus: MessageBus, store: Store, name: str) -> dict:
    body = {"fileType": "weblog", "cachedAt": "EU", "name": name}
    return wait_settled(store, bus.send("cached.JAO", body))


# -- the replicated cache --------------------------------------------------------------
@pytest.fixture
def jao(
    store: Store, bus: MessageBus, tmp_path: Path
) -> Iterator[tuple[ReplicatedCache, Switchable]]:
    eu = tmp_path / "eu-cache"
    eu.mkdir()
    for n in range(3):
        (eu / WEBLOG.format(n=n)).write_bytes(a_zip({"index.html": b"<h1>weblog</h1>"}))
    with Switchable(tmp_path / "jao-cache") as directory:
        cache = ReplicatedCache(
            bus, store, executive="JAO", cache_dir=directory.path, remotes={"EU": eu}
        ).start()
        try:
            yield cache, directory
        finally:
            cache.stop()


def test_a_read_only_cache_dead_letters_with_the_cause_and_the_cache_lives_on(
    store: Store, bus: MessageBus, jao: tuple[ReplicatedCache, Switchable]
) -> None:
    cache, directory = jao
    directory.read_only()

    done = cached(bus, store, WEBLOG.format(n=0))

    assert done["state"] == "dead"
    assert str(directory.path) in done["error"], done["error"]
    assert any(cause in done["error"] for cause in READ_ONLY), done["error"]
    assert cache.is_alive
    assert store.all_docs("ngas") == []

    directory.writable()
    again = cached(bus, store, WEBLOG.format(n=1))
    assert again["state"] == "done", again.get("error")
    assert (directory.path / "weblogs" / WEBLOG.format(n=1).removesuffix(".zip")).is_dir()


def test_a_missing_cache_directory_dead_letters_with_the_cause_and_the_cache_lives_on(
    store: Store, bus: MessageBus, jao: tuple[ReplicatedCache, Switchable]
) -> None:
    cache, directory = jao
    directory.remove()

    done = cached(bus, store, WEBLOG.format(n=0))

    assert done["state"] == "dead"
    assert str(directory.path) in done["error"], done["error"]
    assert "does not exist" in done["error"], done["error"]
    assert cache.is_alive

    (directory.path / "weblogs").mkdir(parents=True)
    again = cached(bus, store, WEBLOG.format(n=1))
    assert again["state"] == "done", again.get("error")


# -- the pipeline driver's cache -------------------------------------------------------
@pytest.fixture
def eu_driver(
    store: Store, bus: MessageBus, tmp_path: Path
) -> Iterator[tuple[PipelineDriver, Switchable]]:
    xtss = Xtss(bus, store).start()
    with Switchable(tmp_path / "eu-cache") as directory:
        driver = PipelineDriver(
            bus,
            store,
            executive="EU",
            cache_dir=directory.path,
            work_dir=tmp_path / "pipeline",
            time_scale=0.0,
            failure_rate=0.0,
        ).start()
        try:
            yield driver, directory
        finally:
            driver.stop(timeout=5.0)
            xtss.stop()


def processed(store: Store, bus: MessageBus, uid: str) -> dict:
    Launcher(bus, store).launch(PROG, uid)

    def rests() -> dict | None:
        doc = store.get("status-entities", uid_to_doc_id(uid))
        return doc if doc["state"] in ("ProcessingProblem", "ReadyForReview") else None

    return wait_until(rests, 60, f"{uid} processed", store=store)


def test_a_read_only_driver_cache_is_a_processing_problem_with_the_cause(
    store: Store, bus: MessageBus, eu_driver: tuple[PipelineDriver, Switchable]
) -> None:
    driver, directory = eu_driver
    directory.read_only()

    doc = processed(store, bus, "uid://X1/X1/Xm1")

    assert doc["state"] == "ProcessingProblem"
    assert str(directory.path) in doc["problem"], doc["problem"]
    assert any(cause in doc["problem"] for cause in READ_ONLY), doc["problem"]
    assert driver.is_alive
    assert bus.unread("pipeline.report.JAO") == [], "a run that could not be cached was reported"

    directory.writable()
    assert processed(store, bus, "uid://X1/X1/Xm2")["state"] == "ReadyForReview"


def test_a_missing_driver_cache_is_a_processing_problem_with_the_cause(
    store: Store, bus: MessageBus, eu_driver: tuple[PipelineDriver, Switchable]
) -> None:
    driver, directory = eu_driver
    directory.remove()

    doc = processed(store, bus, "uid://X1/X1/Xm3")

    assert doc["state"] == "ProcessingProblem"
    assert str(directory.path) in doc["problem"] and "does not exist" in doc["problem"]
    assert driver.is_alive

    directory.path.mkdir()
    assert processed(store, bus, "uid://X1/X1/Xm4")["state"] == "ReadyForReview"
