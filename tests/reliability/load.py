"""A load run in a process of its own, so that its time, CPU and peak memory are its own.

``python -m tests.reliability.load --ouss N [--store URL] [--drivers K]
[--executives EA,EU,...] --workdir DIR`` starts a Sandbox (QA2 on autopilot,
time scale 0) with a pipeline driver per executive, adds drivers on EU until
K compete for ``pipeline.process.EU``, launches N OUSs at once (from several
threads, spread in turn over the executives, as ALMA's projects are over its
regions), waits until every one rests in Delivered or ProcessingProblem, and
prints one JSON line of figures. The test that runs it
then checks the store it leaves behind.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from drwlab.actors.launcher import Launcher
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.lifecycle import State
from drwlab.sandbox import Sandbox
from drwlab.store.cursor import ChangeCursor

PROG = "2015.1.00657.S"
LAUNCHERS = 8
FINAL = [State.DELIVERED.value, State.PROCESSING_PROBLEM.value]
RECOUNT = 1.0


def uids(n: int) -> list[str]:
    return [f"uid://X1/X{i // 100}/Xa{i % 100}" for i in range(n)]


def run(
    ouss: int,
    store: str | None,
    drivers: int,
    workdir: Path,
    timeout: float,
    executives: tuple[str, ...] = ("EU",),
) -> dict:
    started = time.monotonic()
    sandbox = Sandbox(
        store=store,
        workdir=workdir,
        executives=executives,
        time_scale=0.0,
        seed=1,
        failure_rate=0.05,
        autopilot="Pass",
    )
    extra = [
        PipelineDriver(
            sandbox.bus,
            sandbox.store,
            executive="EU",
            cache_dir=sandbox.caches["EU"],
            work_dir=workdir / f"pipeline-{n}",
            time_scale=0.0,
            seed=100 + n,
            failure_rate=0.05,
            name=f"pipeline-driver.EU-{n}",
        ).start()
        for n in range(1, drivers)
    ]
    try:
        ready = time.monotonic()
        launcher = Launcher(sandbox.bus, sandbox.store, timeout=120)
        with ThreadPoolExecutor(LAUNCHERS) as pool:
            launches = zip(uids(ouss), spread(executives, ouss), strict=True)
            list(pool.map(lambda job: launcher.launch(PROG, job[0], executive=job[1]), launches))
        launched = time.monotonic()
        resting = wait_all_final(sandbox, ouss, launched + timeout)
        finished = time.monotonic()
    finally:
        for driver in extra:
            driver.stop(timeout=5.0)
        sandbox.stop(timeout=5.0)
    return figures(ouss, drivers, resting, started, ready, launched, finished)


def spread(executives: tuple[str, ...], count: int) -> list[str]:
    """``count`` executives taken in turn: where each OUS is processed."""
    return [executives[n % len(executives)] for n in range(count)]


def wait_all_final(sandbox: Sandbox, ouss: int, deadline: float) -> int:
    """How many OUSs rest once all do (or at the deadline).

    Counting reads every status entity, so it happens at most once per
    ``RECOUNT`` seconds: the count must not become the load it measures.
    """
    store = sandbox.store
    pause = threading.Event()
    status_feed = ChangeCursor(store, "status-entities")
    while True:
        status_feed.mark()
        resting = store.count("status-entities", {"state": {"$in": FINAL}})
        if resting >= ouss or time.monotonic() > deadline:
            return resting
        status_feed.wait(5.0)
        pause.wait(RECOUNT)


def _own_peak_rss(maxrss_bytes: int) -> int:
    """This process's peak RSS in bytes.

    On Linux ``ru_maxrss`` survives ``exec``: a load run started from a pytest
    process of 600 MB reported 600 MB whatever it used. ``VmHWM`` belongs to
    the new program alone.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return maxrss_bytes
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return maxrss_bytes


def figures(
    ouss: int,
    drivers: int,
    resting: int,
    started: float,
    ready: float,
    launched: float,
    finished: float,
) -> dict[str, Any]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return {
        "ouss": ouss,
        "drivers": drivers,
        "resting": resting,
        "start_seconds": round(ready - started, 2),
        "launch_seconds": round(launched - ready, 2),
        "run_seconds": round(finished - ready, 2),
        "ouss_per_second": round(ouss / max(finished - ready, 1e-9), 2),
        "cpu_seconds": round(own.ru_utime + own.ru_stime, 1),
        "pipeline_cpu_seconds": round(children.ru_utime + children.ru_stime, 1),
        "peak_rss_mb": round(_own_peak_rss(own.ru_maxrss * scale) / 2**20, 1),
        "pipeline_peak_rss_mb": round(children.ru_maxrss * scale / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.load")
    parser.add_argument("--ouss", type=int, required=True)
    parser.add_argument("--store", default=None)
    parser.add_argument("--drivers", type=int, default=1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--executives", default="EU", help="comma-separated: where OUSs are processed, in turn"
    )
    args = parser.parse_args(argv)
    executives = tuple(args.executives.split(","))
    result = run(args.ouss, args.store, args.drivers, args.workdir, args.timeout, executives)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
