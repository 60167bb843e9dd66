"""Actor processes killed with SIGKILL in the middle of their work, then started again.

The original's deployment: every actor is its own ``python -m drwlab run ...``
process against one store. Three OUSs go through; on the way

- the pipeline driver is killed while a pipeline runs (an OUS in Processing),
- the JAO replicated cache is killed while rsync copies (a stand-in rsync
  first on its PATH holds the first copy for a few seconds),
- the product ingestor is killed while it ingests (some products of an OUS in
  NGAS, not all),

and each time another instance is started at once. A second test kills every
actor process at once, at several moments of a run of eight OUSs (a pipeline
running, an OUS just gone to ReadyForReview, an OUS half ingested), and
starts them all again on the same store and caches: work already done when a
message comes back is a duplicate, never a dead letter, and no OUS is
ingested from two runs. A killed actor's claim
runs out after its lease (``--lease``, 8 s here; 30 by default) and the
message is delivered again. Then every
OUS must reach a final state (Delivered, or ProcessingProblem with a reason),
and nothing may be there twice: one pipeline report per run, six NGAS files,
five metadata records and one delivery status per delivered OUS, no message
dead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab.errors import NotFound
from drwlab.store import Store, open_store, sqlite_url
from drwlab.store.base import Doc
from drwlab.uids import uid_to_doc_id
from tests.reliability.figures import Figures
from tests.servers import CouchServer

PROG = "2015.1.00657.S"
UIDS = [f"uid://X1/X1/Xk{n}" for n in range(3)]
FINAL = ("Delivered", "ProcessingProblem")
LEASE = 8.0
"""The actors' bus lease (``drwlab run --lease``): how long a killed actor's message
waits before it is delivered again."""
MAX_ATTEMPTS = 5
"""The actors' ``drwlab run --max-attempts``: a delivery whose actor was killed counts as
an attempt, and the kill-all test kills a message's holder up to three times."""
RUN_TIMEOUT = 240.0
DEAD = {"state": "dead"}

SLOW_RSYNC = """#!/bin/sh
# rsync that holds its first copy for a while, so the cache can be killed mid-copy
if [ -e "{flag}" ]; then
    rm -f "{flag}"
    touch "{started}"
    sleep 6
fi
exec "{rsync}" "$@"
"""


class Actors:
    """``python -m drwlab run ...`` processes, each in its own process group, logs in files."""

    def __init__(self, store_url: str, logs: Path) -> None:
        self.store_url = store_url
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.groups: list[int] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}
        self.env["PYTHONUNBUFFERED"] = "1"
        self.command = [sys.executable, "-m", "drwlab", "--store", store_url, "run"]
        self.command += ["--lease", str(LEASE), "--max-attempts", str(MAX_ATTEMPTS)]

    def start(self, name: str, *args: str, path: str | None = None) -> None:
        env = dict(self.env, PATH=f"{path}:{self.env['PATH']}") if path else self.env
        number = sum(1 for known in self.processes if known.startswith(name))
        with (self.logs / f"{name}-{number}.log").open("wb") as log:
            process = subprocess.Popen(
                [*self.command, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.processes[f"{name}-{number}"] = process
        self.groups.append(process.pid)

    def kill(self, name: str) -> None:
        """SIGKILL the running ``name`` actor (its children, if any, live on)."""
        key = max(known for known in self.processes if known.startswith(name))
        process = self.processes[key]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def running_pipeline(self, name: str) -> bool:
        """True while the running ``name`` actor has a pipeline subprocess."""
        key = max(known for known in self.processes if known.startswith(name))
        pid = str(self.processes[key].pid)
        found = subprocess.run(
            ["pgrep", "-P", pid, "-f", "drwlab.pipeline"], capture_output=True, check=False
        )
        return found.returncode == 0

    def crashed(self) -> dict[str, str]:
        """Actors that died without being killed, with their last log lines."""
        return {
            name: self.log(name)[-2000:]
            for name, process in self.processes.items()
            if process.poll() not in (None, -signal.SIGKILL)
        }

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def logs_text(self) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-1500:]}" for n in self.processes)

    def kill_all(self) -> None:
        """SIGKILL every actor at once, with what it started (its pipeline runs)."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes.values():
            process.wait(10)

    def stop_all(self) -> None:
        for pid in self.groups:  # our own groups: the actors and what they started
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        for process in self.processes.values():
            process.wait(10)


@pytest.fixture(params=["sqlite", "couchdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "drwlab.db")
    server: CouchServer = request.getfixturevalue("couch_server")
    server.drop_all_databases()
    return server.url


@pytest.fixture
def actors(store_url: str, tmp_path: Path) -> Iterator[Actors]:
    logs = tmp_path / "logs"
    logs.mkdir()
    started = Actors(store_url, logs)
    try:
        yield started
    finally:
        started.stop_all()


def entity(store: Store, uid: str) -> Doc | None:
    try:
        return store.get("status-entities", uid_to_doc_id(uid))
    except NotFound:
        return None


def wait_for(
    store: Store, actors: Actors, condition: Callable[[], Any], what: str, timeout: float
) -> Any:
    """``condition()``'s first true value, waiting on the status change feed."""
    deadline = time.monotonic() + timeout
    while True:
        since = store.current_seq("status-entities")
        value = condition()
        if value:
            return value
        assert not actors.crashed(), actors.crashed()
        dead = dead_letters(store)
        if dead or time.monotonic() > deadline:
            why = f"messages given up on: {dead}" if dead else f"not within {timeout:g} s"
            pytest.fail(f"{why}: {what}\n{actors.logs_text()}\n{where_the_ouss_are(store)}")
        store.wait_for_change("status-entities", since, 0.5)


@pytest.mark.slow
def test_actors_killed_mid_message_lose_nothing_and_do_nothing_twice(
    actors: Actors, store_url: str, tmp_path: Path, figures: Figures
) -> None:
    eu, jao, bin_dir = tmp_path / "eu-cache", tmp_path / "jao-cache", tmp_path / "bin"
    bin_dir.mkdir()
    slow_flag, copy_started = tmp_path / "slow-once", tmp_path / "copy-started"
    slow_flag.touch()
    rsync = bin_dir / "rsync"
    real_rsync = "/usr/bin/rsync" if Path("/usr/bin/rsync").exists() else "rsync"
    rsync.write_text(SLOW_RSYNC.format(flag=slow_flag, started=copy_started, rsync=real_rsync))
    rsync.chmod(0o755)
    driver = ("pipeline-driver", "EU", str(eu), "--failure-rate", "0", "--time-scale", "1")
    driver += ("--work-dir", str(tmp_path / "pipeline"))
    jao_cache = ("replicated-cache", "-e", "JAO", "-lc", str(jao), "-euc", str(eu), "-p", "0")
    ingestor = ("product-ingestor", str(jao), "--time-scale", "1")

    actors.start("xtss", "xtss")
    actors.start("driver", *driver)
    actors.start("cache-eu", "replicated-cache", "-e", "EU", "-lc", str(eu), "-p", "0")
    actors.start("cache-jao", *jao_cache, path=str(bin_dir))
    actors.start("qa2", "aqua-qa2", "-lc", str(jao), "--autopilot", "Pass")
    actors.start("ingestor", *ingestor)
    actors.start("tracker", "data-tracker", "--time-scale", "0")
    started = time.monotonic()
    launch(store_url, actors)

    with open_store(store_url) as store:
        kills = kill_mid_message(store, actors, copy_started, driver, jao_cache, ingestor)
        final = wait_for(
            store,
            actors,
            lambda: all_final(store),
            "every OUS in Delivered or ProcessingProblem",
            RUN_TIMEOUT,
        )
        counts = what_the_store_holds(store)
    figures.record(
        f"kills.{'couchdb' if store_url.startswith('http') else 'sqlite'}",
        kills=kills,
        seconds=round(time.monotonic() - started, 1),
        states=dict(Counter(doc["state"] for doc in final)),
    )
    assert_nothing_twice(final, counts)


def launch(store_url: str, actors: Actors, uids: list[str] = UIDS) -> None:
    deadline = time.monotonic() + 60
    for uid in uids:
        while True:  # the XTSS process may still be starting
            done = subprocess.run(
                [sys.executable, "-m", "drwlab", "--store", store_url, "launch", PROG, uid],
                capture_output=True,
                text=True,
                env=actors.env,
                timeout=60,
                check=False,
            )
            if done.returncode == 0:
                break
            assert time.monotonic() < deadline, done.stderr
            time.sleep(1)


def kill_mid_message(
    store: Store,
    actors: Actors,
    copy_started: Path,
    driver: tuple[str, ...],
    jao_cache: tuple[str, ...],
    ingestor: tuple[str, ...],
) -> list[str]:
    """Kill each actor in the middle of a message and start another; what was killed when."""
    done: list[str] = []
    in_processing = wait_for(
        store,
        actors,
        lambda: next(
            (u for u in UIDS if (entity(store, u) or {}).get("state") == "Processing"), None
        ),
        "an OUS in Processing",
        120,
    )
    time.sleep(1.0)  # let the pipeline subprocess get going
    actors.kill("driver")
    actors.start("driver", *driver)
    done.append(f"pipeline driver during the run of {in_processing}")

    wait_for(store, actors, copy_started.exists, "the JAO cache to start copying", 120)
    actors.kill("cache-jao")
    actors.start("cache-jao", *jao_cache)
    done.append("JAO cache during an rsync copy")

    ingesting = wait_for(
        store, actors, lambda: half_ingested(store), "an OUS half ingested", RUN_TIMEOUT
    )
    actors.kill("ingestor")
    actors.start("ingestor", *ingestor)
    done.append(f"product ingestor during the ingestion of {ingesting}")
    return done


def dead_letters(store: Store) -> list[str]:
    return [f"{m['selector']}: {m.get('error')}" for m in store.find("msgq", DEAD)]


def where_the_ouss_are(store: Store) -> str:
    """One line per OUS (state, substate, last change): last in a failure's long message,
    so that it is what a truncated CI log still shows."""
    lines = []
    for doc in sorted(store.all_docs("status-entities"), key=lambda d: str(d.get("entityId"))):
        last = (doc.get("history") or [{}])[-1]
        lines.append(
            f"{doc.get('entityId')}: {doc.get('state')}/{doc.get('substate') or '-'} "
            f"(last: {last.get('timestamp')} by {last.get('actor')})"
        )
    return "where the OUSs are:\n" + "\n".join(lines)


def in_state(store: Store, state: str) -> str | None:
    return next((u for u in UIDS if (entity(store, u) or {}).get("state") == state), None)


def half_ingested(store: Store, uids: list[str] = UIDS) -> str | None:
    for uid in uids:
        doc = entity(store, uid) or {}
        if doc.get("substate") == "IngestingProducts":
            products = store.count("products-metadata", {"ousUID": uid})
            if 0 < products < 5:
                return uid
    return None


def all_final(store: Store, uids: list[str] = UIDS) -> list[Doc] | None:
    docs = [entity(store, uid) for uid in uids]
    if all(doc is not None and doc["state"] in FINAL for doc in docs):
        return [doc for doc in docs if doc is not None]
    return None


def what_the_store_holds(store: Store) -> dict[str, Any]:
    def per_ous(db: str) -> Counter[str]:
        return Counter(str(doc.get("ousUID")) for doc in store.all_docs(db))

    return {
        "reports": per_ous("pipeline-reports"),
        "ngas": per_ous("ngas"),
        "metadata": per_ous("products-metadata"),
        "deliveries": per_ous("delivery-status"),
        "dead": dead_letters(store),
    }


def assert_nothing_twice(final: list[Doc], counts: dict[str, Any]) -> None:
    wrong = {}
    for doc in final:
        uid = doc["entityId"]
        runs = sum(1 for h in doc["history"] if h["state"] == "Processing")
        seen = tuple(counts[db][uid] for db in ("reports", "ngas", "metadata", "deliveries"))
        expected = (runs, 6, 5, 1) if doc["state"] == "Delivered" else (runs - 1, 0, 0, 0)
        if seen != expected or (doc["state"] == "ProcessingProblem" and not doc.get("problem")):
            wrong[uid] = {"state": doc["state"], "runs": runs, "seen": seen, "expected": expected}
    assert wrong == {}, f"(reports, NGAS, metadata, deliveries) per OUS: {wrong}"
    assert counts["dead"] == [], f"messages given up on: {counts['dead']}"


KILL_ALL_UIDS = [f"uid://X1/X3/Xk{n}" for n in range(8)]
PAST_PROCESSING = ("ReadyForReview", "Reviewing", "Verified", "DeliveryInProgress", "Delivered")


@pytest.mark.slow
def test_every_actor_killed_at_once_at_several_moments_then_restarted(
    actors: Actors, store_url: str, tmp_path: Path, figures: Figures
) -> None:
    eu, jao, uids = tmp_path / "eu-cache", tmp_path / "jao-cache", KILL_ALL_UIDS
    driver = ("pipeline-driver", "EU", str(eu), "-mr", "2", "--failure-rate", "0")
    cache_jao = ("replicated-cache", "-e", "JAO", "-lc", str(jao), "-euc", str(eu))
    everyone: list[tuple[str, ...]] = [
        ("xtss", "xtss"),
        ("driver", *driver, "--time-scale", "0.3", "--work-dir", str(tmp_path / "pipeline")),
        ("cache-eu", "replicated-cache", "-e", "EU", "-lc", str(eu), "-p", "0"),
        ("cache-jao", *cache_jao, "-p", "0"),
        ("qa2", "aqua-qa2", "-lc", str(jao), "--autopilot", "Pass"),
        ("ingestor", "product-ingestor", str(jao), "--time-scale", "0.3"),
        ("tracker", "data-tracker", "--time-scale", "0"),
    ]
    for name, *args in everyone:
        actors.start(name, *args)
    started = time.monotonic()
    launch(store_url, actors, uids)

    def state_of_any(states: tuple[str, ...]) -> str | None:
        return next((u for u in uids if (entity(store, u) or {}).get("state") in states), None)

    moments: list[tuple[str, Callable[[], object]]] = [
        ("a pipeline running", lambda: state_of_any(("Processing",))),
        ("an OUS just past its run", lambda: state_of_any(PAST_PROCESSING[:3])),
        ("an OUS half ingested", lambda: half_ingested(store, uids)),
    ]
    with open_store(store_url) as store:
        for what, condition in moments:
            wait_for(store, actors, condition, what, RUN_TIMEOUT)
            actors.kill_all()
            for name, *args in everyone:
                actors.start(name, *args)
        final = wait_for(
            store, actors, lambda: all_final(store, uids), "every OUS final", RUN_TIMEOUT
        )
        problems = ingested_from_other_runs(store, final)
        dead = dead_letters(store)
    figures.record(
        f"kill_all.{'couchdb' if store_url.startswith('http') else 'sqlite'}",
        kills=[what for what, _ in moments],
        seconds=round(time.monotonic() - started, 1),
        duplicates_logged=sum(actors.log(name).count("duplicate") for name in actors.processes),
        states=dict(Counter(doc["state"] for doc in final)),
    )
    assert [doc["state"] for doc in final] == ["Delivered"] * len(uids)
    assert dead == [], f"messages given up on: {dead}"
    assert problems == {}, f"ingested from another run than the OUS's: {problems}"


def ingested_from_other_runs(store: Store, final: list[Doc]) -> dict[str, Any]:
    """Per OUS, what its NGAS metadata and delivery status say of runs other than its own."""
    wrong: dict[str, Any] = {}
    for doc in final:
        uid, run = doc["entityId"], doc.get("pipelineRun")
        runs = {m["timestamp"] for m in store.find("products-metadata", {"ousUID": uid})}
        status = store.get("delivery-status", uid_to_doc_id(uid))
        if runs != {run} or status["timestamp"] != run or len(status["dataProducts"]) != 5:
            wrong[uid] = {"run": run, "metadata runs": sorted(runs), "status": status["timestamp"]}
    return wrong
