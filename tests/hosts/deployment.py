"""The scale-out deployment on hosts made as network namespaces, for tests and benchmarks.

``Deployment`` starts ``drwlab`` processes on the hosts of a
:class:`~tests.hosts.netns.Network`, all against one CouchDB-compatible server
(pouchdb-server on the JAO host, ``start_couch``); ``start_rsync_daemon``
shares a cache directory as ``HOST::module``; ``probe``/``expect`` look at the
store or a web page from inside a host (``tests/hosts/probe.py``), since the
hosts' /24 does not exist where the test process runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.hosts.netns import Host, Network
from tests.servers import pouchdb_server_command

REPO = Path(__file__).resolve().parents[2]
PROG = "2015.1.00657.S"
COUCH_PORT = 5984
CACHE_PORT = 8000
START_TIMEOUT = 30.0
PROBE_MARGIN = 30.0
"""Seconds a probe process may take beyond its own wait (Python start-up on a busy machine)."""

RSYNCD_CONF = """\
use chroot = no
numeric ids = yes
uid = {uid}
gid = {gid}
pid file = {pid_file}
reverse lookup = no
[{module}]
    path = {path}
    read only = yes
"""


class DeploymentError(AssertionError):
    """Something the deployment waited for did not happen (the message has every log)."""


class Deployment:
    """The drwlab processes on the hosts of ``network``, all against one store on JAO."""

    def __init__(self, network: Network, tmp_path: Path, lease: float = 30.0) -> None:
        self.network = network
        self.tmp = tmp_path
        self.lease = lease
        self.store = f"http://{network['jao'].address}:{COUCH_PORT}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}
        self.env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        self.killed: set[str] = set()
        """host-label of the processes the test killed on purpose."""
        self.started: dict[str, list[str]] = {}
        """Host -> labels of its drwlab processes (not the servers they need)."""

    def host(self, name: str) -> Host:
        return self.network[name]

    def cache_url(self, name: str) -> str:
        return f"http://{self.host(name).address}:{CACHE_PORT}"

    def drwlab(self, host: str, label: str, *args: str) -> None:
        """Start ``drwlab --store STORE ARGS`` on ``host``."""
        command = [sys.executable, "-m", "drwlab", "--store", self.store, *args]
        self.host(host).start(label, command, self.env, cwd=self.tmp)
        self.started.setdefault(host, []).append(label)

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to every drwlab process still running: host-label -> exit status."""
        codes = {}
        for name, labels in self.started.items():
            running = [label for label in labels if f"{name}-{label}" not in self.killed]
            for label, code in self.host(name).terminate(running).items():
                codes[f"{name}-{label}"] = code
        return codes

    def actor(self, host: str, label: str, *args: str) -> None:
        """Start ``drwlab run --lease LEASE ARGS`` on ``host`` (``lease``, given when made)."""
        self.drwlab(host, label, "run", "--lease", str(self.lease), *args)

    def probe(self, host: str, *args: str, timeout: float = START_TIMEOUT) -> tuple[bool, Any]:
        """Run ``tests.hosts.probe ARGS`` on ``host``: (it came true, what it saw)."""
        command = [sys.executable, "-m", "tests.hosts.probe", *args]
        if args[0] in ("http", "tcp", "states"):
            command += ["--timeout", str(timeout)]
        result = self.host(host).run(command, self.env, timeout + PROBE_MARGIN)
        assert result.returncode in (0, 1), f"probe {args} on {host}: {result.stderr}"
        return result.returncode == 0, json.loads(result.stdout)

    def expect(self, host: str, *args: str, timeout: float = START_TIMEOUT) -> Any:
        """``probe``, failing the test with every log when it did not come true."""
        done, seen = self.probe(host, *args, timeout=timeout)
        if not done:
            raise DeploymentError(
                f"{args} from {host} not within {timeout:g} s: {seen}\n{self.logs()}"
            )
        return seen

    def launch(self, host: str, uid: str, executive: str, prog: str = PROG) -> None:
        """``drwlab launch`` on ``host``, again while the XTSS is still starting (bounded)."""
        deadline = time.monotonic() + START_TIMEOUT
        command = [sys.executable, "-m", "drwlab", "--store", self.store, "launch"]
        command += [prog, uid, "PipelineCalibration", executive]
        while True:
            result = self.host(host).run(command, self.env, START_TIMEOUT)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise DeploymentError(f"launch of {uid} on {host}: {result.stderr}\n{self.logs()}")

    def crashed(self) -> dict[str, int | None]:
        return {
            f"{host.name}-{label}": code
            for host in self.network.hosts.values()
            for label, code in host.dead().items()
            if f"{host.name}-{label}" not in self.killed
        }

    def logs(self) -> str:
        parts = []
        for path in sorted(self.tmp.joinpath("logs").glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)


def start_couch(deployment: Deployment) -> None:
    """pouchdb-server on the JAO host, its data in the deployment's directory."""
    jao = deployment.host("jao")
    couch_dir = deployment.tmp / "couchdb"
    couch_dir.mkdir()
    couch = pouchdb_server_command(COUCH_PORT, couch_dir, host=jao.address)
    jao.start("couchdb", couch, deployment.env, cwd=couch_dir)
    deployment.expect("jao", "http", deployment.store)


def start_rsync_daemon(deployment: Deployment, host: str, module: str, path: Path) -> None:
    """An rsync daemon on ``host`` sharing ``path`` read-only as ``module``."""
    conf = deployment.tmp / f"rsyncd-{host}.conf"
    conf.write_text(
        RSYNCD_CONF.format(
            uid=os.getuid(),
            gid=os.getgid(),
            pid_file=deployment.tmp / f"rsyncd-{host}.pid",
            module=module,
            path=path,
        )
    )
    address = deployment.host(host).address
    command = ["rsync", "--daemon", "--no-detach", f"--config={conf}"]
    command += [f"--address={address}", "--port=873", "--log-file=/dev/stderr"]
    deployment.host(host).start("rsyncd", command, deployment.env)
    deployment.expect(host, "tcp", address, "873")


def pipeline_driver(host: str, cache: Path, runs: Path, options: str) -> list[str]:
    """``run pipeline-driver`` arguments for the executive of ``host`` (``eu`` -> EU)."""
    return ["pipeline-driver", host.upper(), str(cache), "--work-dir", str(runs), *options.split()]


def start_workflow(deployment: Deployment, caches: dict[str, Path], *, driver_options: str) -> None:
    """pouchdb-server and every actor: on each host other than JAO a pipeline driver
    (``driver_options``) and the cache of its executive behind an rsync daemon; on JAO
    the XTSS, AQUA (autopilot Pass, weblog links on the JAO cache), the product
    ingestor, the data tracker (time scale 0) and the JAO cache, pulling from the
    others over the network. ``caches``: host -> its cache directory (``jao`` too)."""
    start_couch(deployment)
    remotes = []
    for host, cache in caches.items():
        if host == "jao":
            continue
        start_rsync_daemon(deployment, host, f"{host}-cache", cache)
        address = deployment.host(host).address
        remotes.append(f"-{host}c {address}::{host}-cache")
        served = f"replicated-cache -e {host.upper()} -lc {cache} --host {address}"
        deployment.actor(host, "cache", *served.split(), "-p", str(CACHE_PORT))
        runs = deployment.tmp / f"pipeline-{host}"
        deployment.actor(host, "driver", *pipeline_driver(host, cache, runs, driver_options))
    jao, address = caches["jao"], deployment.host("jao").address
    served = f"replicated-cache -e JAO -lc {jao} {' '.join(remotes)} --host {address}"
    deployment.actor("jao", "cache", *served.split(), "-p", str(CACHE_PORT))
    deployment.actor("jao", "xtss", "xtss")
    qa2 = f"aqua-qa2 -lc {jao} --autopilot Pass --cache-url {deployment.cache_url('jao')}"
    deployment.actor("jao", "aqua-qa2", *qa2.split())
    deployment.actor("jao", "ingestor", "product-ingestor", str(jao), "--time-scale", "0")
    deployment.actor("jao", "tracker", "data-tracker", "--time-scale", "0")
