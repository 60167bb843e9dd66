"""Benchmark of the whole life-cycle: N OUSs launched at once, through to Delivered, per backend.

    .venv/bin/python bench/lifecycle.py [-n 100] [--max-runs 4] [--backend sqlite|couchdb|all]
                                        [--timeout 900] [--json FILE] [--no-traffic] [--hosts]

A Sandbox with time scale 0 (no simulated delays), failure rate 0 and AQUA on
autopilot (Pass): what is measured is the system's own overhead (bus hops,
XTSS calls, store writes, pipeline subprocesses, rsync, NGAS ingestion).
Prints a table, then the figures as JSON: time from the first launch to the
last Delivered, OUSs per minute, and per stage (one state or substate to the
next, from each entity's history) the median and 90th percentile; each
launch's own time (median and 90th percentile); and, per OUS, the store
traffic (bench/traffic.py: HTTP requests by route and by actor, bytes, and
documents received or decoded). With ``--backend all`` a last line gives the
CouchDB/SQLite ratios. The CouchDB side uses ``DRWLAB_TEST_COUCHDB_URL`` when
set, else starts the project's pouchdb-server on a free loopback port (as the
tests do). ``--hosts`` adds a run of the CLI actors on two hosts made as
network namespaces (bench/across_hosts.py; root only; requests counted by each
actor process, bench/request_log.py, but no documents or bytes). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.across_hosts import process_cpu  # noqa: E402
from bench.traffic import Traffic  # noqa: E402
from drwlab.sandbox import Sandbox  # noqa: E402
from drwlab.store import Seq, Store  # noqa: E402
from drwlab.timeutil import parse_timestamp  # noqa: E402
from drwlab.wire import STATUS_DB as ENTITIES  # noqa: E402

Figures = dict[str, Any]
PROG = "2015.1.00657.S"
TARGET_SECONDS = 60.0
BENCH_THREAD = "bench-waiter"
"""The thread that waits for the OUSs: its requests are the benchmark's, left out of the
traffic figures (the launches are the main thread's, and counted)."""
TOP = 12
"""Routes and actors printed per table line (the JSON has them all)."""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextmanager
def store_url(backend: str, workdir: Path) -> Iterator[tuple[str, int | None]]:
    """The URL of an empty store of ``backend``, and the pid of its server if we started one."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}", None
        return
    from tests.servers import start_couch_server

    server = start_couch_server()
    try:
        server.drop_all_databases()
        process = server._process  # None for DRWLAB_TEST_COUCHDB_URL's server
        yield server.url, (process.pid if process is not None else None)
    finally:
        server.stop()


def cpu_seconds(server: int | None = None) -> dict[str, float]:
    """CPU time (user + system) of this process (the actors) and of its children (pipelines,
    rsync); on CouchDB the server's too (``server``: the pid of one this benchmark started)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = {
        "actors": own.ru_utime + own.ru_stime,
        "subprocesses": children.ru_utime + children.ru_stime,
    }
    if server is not None:
        seconds["server"] = process_cpu(server)
    return seconds


def wait_all_delivered(store: Store, uids: list[str], since: Seq, timeout: float) -> float:
    """Block until every OUS is Delivered; the monotonic time it happened.

    Reads the status entities' change feed (with the documents) after ``since``
    rather than querying per change: the benchmark's own requests stay few.
    """
    deadline = time.monotonic() + timeout
    waiting = set(uids)
    feed = store.follow_changes(ENTITIES, since, heartbeat=1.0, limit=1000, include_docs=True)
    with contextlib.closing(feed):
        for page in feed:
            for change in page.changes if page is not None else []:
                if change.doc is not None and change.doc.get("state") == "Delivered":
                    waiting.discard(change.doc.get("entityId"))
            if not waiting:
                return time.monotonic()
            if time.monotonic() > deadline:
                break
    raise TimeoutError(
        f"only {len(uids) - len(waiting)}/{len(uids)} OUSs Delivered in {timeout:g} s"
    )


def stage_name(entry: dict[str, Any]) -> str:
    return f"{entry['state']}/{entry['substate']}" if entry.get("substate") else entry["state"]


def stage_latencies(entities: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds between consecutive state changes ("A -> B"), from each history."""
    stages: dict[str, list[float]] = {}
    for entity in entities:
        changes = [h for h in entity["history"] if h.get("operation") != "clear-flag"]
        for before, after in itertools.pairwise(changes):
            seconds = (
                parse_timestamp(after["timestamp"]) - parse_timestamp(before["timestamp"])
            ).total_seconds()
            name = f"{stage_name(before)} -> {stage_name(after)}"
            stages.setdefault(name, []).append(seconds)
    return stages


def run(backend: str, n: int, max_runs: int, timeout: float, count_traffic: bool) -> Figures:
    """One benchmark run on ``backend``; the figures."""
    load_before = round(os.getloadavg()[0], 1)  # other work on the machine skews figures
    workdir = Path(tempfile.mkdtemp(prefix="drwlab-bench-"))
    traffic = Traffic()
    try:
        with (
            traffic.recording() if count_traffic else nullcontext(traffic),
            store_url(backend, workdir) as (url, server),
            Sandbox(
                url,
                workdir,
                time_scale=0,
                seed=1,
                failure_rate=0,
                autopilot="Pass",
                max_runs=max_runs,
            ) as sandbox,
        ):
            uids = [f"uid://X1/X2/X{i:x}" for i in range(n)]
            since = sandbox.store.current_seq(ENTITIES)
            cpu_before = cpu_seconds(server)
            started = time.monotonic()
            launches = []
            for uid in uids:
                sandbox.launch(PROG, uid)
                launches.append(time.monotonic())
            launched = time.monotonic()
            with ThreadPoolExecutor(1, thread_name_prefix=BENCH_THREAD) as waiter:
                waiting = waiter.submit(wait_all_delivered, sandbox.store, uids, since, timeout)
                finished = waiting.result()
            cpu = {k: round(v - cpu_before[k], 1) for k, v in cpu_seconds(server).items()}
            entities = sandbox.store.find(ENTITIES, {"entityId": {"$in": uids}})
        result = figures(backend, n, max_runs, started, launched, finished, entities)
        each_launch = [b - a for a, b in itertools.pairwise([started, *launches])]
        result.update(
            cpu_s=cpu,
            load_average_before=load_before,
            launch_ms=launch_figures(each_launch),
        )
        if count_traffic:
            result["traffic_per_ous"] = traffic.per_ous(n, leave_out=BENCH_THREAD)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_hosts(n: int, max_runs: int, timeout: float) -> Figures:
    """The run on two hosts (bench/across_hosts.py), as figures like ``run``'s."""
    from bench.across_hosts import run_across_hosts

    load_before = round(os.getloadavg()[0], 1)
    raw = run_across_hosts(n, max_runs, timeout)
    result = figures(
        "couchdb on 2 hosts",
        n,
        max_runs,
        raw["started"],
        raw["launched"],
        raw["finished"],
        raw["entities"],
    )
    result.update(
        cpu_s=raw["cpu_s"],
        load_average_before=load_before,
        launch_ms=launch_figures(raw["launch_seconds"]),
        requests_per_ous_by_host_and_route={
            name: round(count / n, 1) for name, count in raw["requests"].most_common()
        },
    )
    result["requests_per_ous"] = round(sum(raw["requests"].values()) / n, 1)
    return result


def launch_figures(seconds: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(seconds) * 1000, 1),
        "p90": round(percentile(seconds, 0.9) * 1000, 1),
    }


def figures(
    backend: str,
    n: int,
    max_runs: int,
    started: float,
    launched: float,
    finished: float,
    entities: list[dict[str, Any]],
) -> Figures:
    elapsed = finished - started
    stages = {
        name: {
            "n": len(values),
            "median_s": round(statistics.median(values), 3),
            "p90_s": round(percentile(values, 0.9), 3),
        }
        for name, values in stage_latencies(entities).items()
    }
    return {
        "backend": backend,
        "ouss": n,
        "max_runs": max_runs,
        "cpus": os.cpu_count(),
        "launch_s": round(launched - started, 2),
        "all_delivered_s": round(elapsed, 2),
        "ouss_per_minute": round(n / elapsed * 60, 1),
        "target_met": backend != "sqlite" or elapsed <= TARGET_SECONDS,
        "stages": stages,
    }


def print_table(result: Figures) -> None:
    print(
        f"\n{result['backend']}: {result['ouss']} OUSs, max_runs {result['max_runs']}: "
        f"launched in {result['launch_s']} s, all Delivered in {result['all_delivered_s']} s "
        f"({result['ouss_per_minute']} OUSs/minute); CPU s: {result['cpu_s']}, "
        f"load average before: {result['load_average_before']}"
    )
    print(
        f"  each launch: median {result['launch_ms']['median']} ms, "
        f"p90 {result['launch_ms']['p90']} ms"
    )
    print(f"  {'stage':<72} {'median s':>9} {'p90 s':>8} {'n':>5}")
    for name, stage in result["stages"].items():
        print(f"  {name:<72} {stage['median_s']:>9} {stage['p90_s']:>8} {stage['n']:>5}")
    if "requests_per_ous" in result:
        top = list(result["requests_per_ous_by_host_and_route"].items())[:TOP]
        print(f"  per OUS: {result['requests_per_ous']} HTTP requests (counted by each process)")
        print("  requests by host and route (per OUS): " + ", ".join(f"{k} {v}" for k, v in top))
    traffic = result.get("traffic_per_ous")
    if traffic is None:
        return
    print(
        f"  per OUS: {traffic['requests']} HTTP requests, {traffic['kbytes_sent']} KiB sent, "
        f"{traffic['kbytes_received']} KiB received, {traffic['docs']} documents decoded"
    )
    for title, key in (
        ("requests by route", "requests_by_route"),
        ("requests by actor", "requests_by_actor"),
        ("documents by route", "docs_by_route"),
        ("documents by actor", "docs_by_actor"),
    ):
        items = list(traffic[key].items())[:TOP]
        if items:
            print(f"  {title} (per OUS): " + ", ".join(f"{k} {v}" for k, v in items))


def print_ratios(sqlite: Figures, couchdb: Figures) -> None:
    """The line the issue tracks: a CouchDB run's figures over SQLite's."""

    def ratio(get: Callable[[Figures], float]) -> str:
        below = get(sqlite)
        return f"{get(couchdb) / below:.1f}x" if below else "n/a"

    print(
        f"\n{couchdb['backend']}/sqlite: all Delivered "
        + ratio(lambda r: r["all_delivered_s"])
        + ", all launched "
        + ratio(lambda r: r["launch_s"])
        + ", launch median "
        + ratio(lambda r: r["launch_ms"]["median"])
        + ", actors' CPU "
        + ratio(lambda r: r["cpu_s"]["actors"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-n", type=int, default=100, help="OUSs launched at once (default 100)")
    parser.add_argument("--max-runs", type=int, default=4, help="pipeline runs at once")
    parser.add_argument("--backend", choices=["sqlite", "couchdb", "all"], default="all")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after (s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument(
        "--no-traffic", action="store_true", help="do not count requests and documents"
    )
    parser.add_argument(
        "--hosts",
        action="store_true",
        help="also run the CLI actors on two hosts made as network namespaces (root)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    backends = ["sqlite", "couchdb"] if args.backend == "all" else [args.backend]
    results = []
    for backend in backends:
        result = run(backend, args.n, args.max_runs, args.timeout, not args.no_traffic)
        print_table(result)
        results.append(result)
    if args.hosts:
        result = run_hosts(args.n, args.max_runs, args.timeout)
        print_table(result)
        results.append(result)
    for result in results:
        if results[0]["backend"] == "sqlite" and result is not results[0]:
            print_ratios(results[0], result)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
