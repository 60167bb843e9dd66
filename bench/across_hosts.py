"""The life-cycle benchmark on the scale-out deployment: CLI actors on two hosts.

``run_across_hosts`` makes two hosts as network namespaces of this machine
(``tests/hosts``: needs root and iproute2): JAO with pouchdb-server, the XTSS,
AQUA (autopilot Pass), the product ingestor, the data tracker and the JAO
cache; EU with the pipeline driver (``max_runs``, time scale 0, failure rate
0) and the EU cache behind an rsync daemon, which the JAO cache pulls from
over the network. Each actor is its own ``drwlab run`` process talking HTTP to
the server across the hosts' /24. N OUSs are launched from the EU host, one
after the other from one process, and timed to the last Delivered. CPU
seconds are read from /proc for the actors' processes (with their pipeline
and rsync subprocesses) and for pouchdb-server, just before they are stopped.
The requests are counted where they are sent, by every drwlab process of the
run (``bench/request_log.py``; the project's pouchdb-server keeps no request
log), by the host that sent them and by route, those of the timed window only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.request_log import namespace_of, requests_between
from tests.hosts.deployment import REPO, Deployment, start_workflow
from tests.hosts.netns import Host, Network, remove_leftovers

UID_PREFIX = "uid://X1/X4/X"
RECORDER = Path(__file__).resolve().parent / "hosts_traffic"
"""Holds the ``sitecustomize`` that has each process of the run record its requests."""


def process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its waited-for children (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_by_role(hosts: list[Host]) -> dict[str, float]:
    """CPU seconds so far: the server's, and the drwlab processes' together."""
    server = actors = 0.0
    for host in hosts:
        for label, process in host.processes.items():
            seconds = process_cpu(process.pid)
            if label == "couchdb":
                server += seconds
            elif label != "rsyncd":
                actors += seconds
    return {"server": round(server, 1), "actors": round(actors, 1)}


def run_across_hosts(n: int, max_runs: int, timeout: float) -> dict[str, Any]:
    """One run of ``n`` OUSs; the raw figures (times, entities, CPU) for lifecycle.py."""
    remove_leftovers()
    workdir = Path(tempfile.mkdtemp(prefix="drwlab-bench-hosts-"))
    logs = workdir / "logs"
    logs.mkdir()
    network = Network.create(["jao", "eu"], logs)
    try:
        deployment = Deployment(network, workdir)
        request_log = workdir / "requests"
        request_log.mkdir()
        deployment.env.update(
            PYTHONPATH=f"{RECORDER}{os.pathsep}{REPO}", BENCH_REQUEST_LOG=str(request_log)
        )
        caches = {name: workdir / f"{name}-cache" for name in ("jao", "eu")}
        for directory in caches.values():
            directory.mkdir()
        driver = f"--failure-rate 0 --seed 1 --time-scale 0 -mr {max_runs}"
        start_workflow(deployment, caches, driver_options=driver)
        warm_up, *uids = [f"{UID_PREFIX}{i:x}" for i in range(n + 1)]
        # one OUS first, untimed: every actor has started and answers
        deployment.expect("eu", "launch", deployment.store, warm_up, "--executive", "EU")
        deployment.expect("jao", "states", deployment.store, "Delivered", warm_up, timeout=60)
        hosts = list(network.hosts.values())
        cpu_before = cpu_by_role(hosts)
        started, started_wall = time.monotonic(), time.time()
        launches = deployment.expect(
            "eu", "launch", deployment.store, *uids, "--executive", "EU", timeout=timeout
        )
        launched = time.monotonic()
        deployment.expect(
            "jao", "states", deployment.store, "Delivered", *uids, "--all", timeout=timeout
        )
        finished, finished_wall = time.monotonic(), time.time()
        cpu_after = cpu_by_role(hosts)
        entities = deployment.expect("jao", "entities", deployment.store, *uids)["entities"]
        deployment.stop()  # each process writes its requests as it exits
        names = {namespace_of(host.namespace): host.name for host in hosts}
        sent = requests_between(request_log, names, started_wall, finished_wall)
        return {
            "uids": uids,
            "started": started,
            "launched": launched,
            "finished": finished,
            "launch_seconds": launches["seconds"],
            "entities": entities,
            "cpu_s": {k: round(cpu_after[k] - cpu_before[k], 1) for k in cpu_after},
            "requests": sent,
        }
    finally:
        network.remove()
        shutil.rmtree(workdir, ignore_errors=True)
