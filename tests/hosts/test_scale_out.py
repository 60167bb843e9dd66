"""The scale-out deployment (README, "Scaling out") on three hosts, as a user would run it.

Three network namespaces of this machine stand for three hosts on a private
/24 that exists only inside them (tests/hosts/netns.py):

- JAO (10.215.15.1): the CouchDB-compatible server (pouchdb-server), the
  XTSS, AQUA QA2 on autopilot, the product ingestor, the data tracker, the
  JAO replicated cache and the dashboard;
- EU (.2) and NA (.3): a pipeline driver and the executive's replicated
  cache, whose directory an rsync daemon shares as ``HOST::module``.

Every actor is a ``drwlab run ...`` process talking to the store over the
network; the JAO cache pulls products and weblogs from the other hosts'
rsync daemons. OUSs are launched from the EU and NA hosts. The EU pipeline
driver is killed (SIGKILL) while it runs a pipeline and started again: its
claim runs out after the lease and the new one does the work. Every OUS must
be Delivered with each record once, the weblogs and the dashboard's links
(on the hosts' addresses) must answer from another host, and every process
must stop cleanly on SIGTERM.

Needs root and iproute2 (CI runs as root); the namespaces and everything in
them are removed at the end, and those of an earlier run that crashed at the
start.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hosts.netns import Host, Network, remove_leftovers
from tests.reliability.figures import Figures
from tests.servers import POUCHDB_SERVER

REPO = Path(__file__).resolve().parents[2]
PROG = "2015.1.00657.S"
EU_UIDS = ["uid://X1/X1/Xe0", "uid://X1/X1/Xe1"]
NA_UIDS = ["uid://X1/X1/Xn0"]
COUCH_PORT = 5984
CACHE_PORT = 8000
DASHBOARD_PORT = 5000
LEASE = 4.0
"""The actors' lease (``drwlab run --lease``): a killed driver's OUS waits this long."""
DRIVER_TIME_SCALE = 1.0
"""A pipeline run takes 3-8 s: long enough to kill the driver in the middle of one."""
DELIVERY_TIMEOUT = 150.0
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("rsync") is None,
        reason="hosts as network namespaces need root, ip (iproute2) and rsync",
    ),
]


class Deployment:
    """The drwlab processes on the hosts of ``network``, all against one store on JAO."""

    def __init__(self, network: Network, tmp_path: Path) -> None:
        self.network = network
        self.tmp = tmp_path
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
        """Start ``drwlab run --lease LEASE ARGS`` on ``host``."""
        self.drwlab(host, label, "run", "--lease", str(LEASE), *args)

    def probe(self, host: str, *args: str, timeout: float = START_TIMEOUT) -> tuple[bool, Any]:
        """Run ``tests.hosts.probe ARGS`` on ``host``: (it came true, what it saw)."""
        command = [sys.executable, "-m", "tests.hosts.probe", *args]
        if args[0] != "summary":
            command += ["--timeout", str(timeout)]
        result = self.host(host).run(command, self.env, timeout + PROBE_MARGIN)
        assert result.returncode in (0, 1), f"probe {args} on {host}: {result.stderr}"
        return result.returncode == 0, json.loads(result.stdout)

    def expect(self, host: str, *args: str, timeout: float = START_TIMEOUT) -> Any:
        """``probe``, failing the test with every log when it did not come true."""
        done, seen = self.probe(host, *args, timeout=timeout)
        if not done:
            pytest.fail(f"{args} from {host} not within {timeout:g} s: {seen}\n{self.logs()}")
        return seen

    def launch(self, host: str, uid: str, executive: str) -> None:
        """``drwlab launch`` on ``host``, again while the XTSS is still starting (bounded)."""
        deadline = time.monotonic() + START_TIMEOUT
        command = [sys.executable, "-m", "drwlab", "--store", self.store, "launch"]
        command += [PROG, uid, "PipelineCalibration", executive]
        while True:
            result = self.host(host).run(command, self.env, START_TIMEOUT)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"launch of {uid} on {host}: {result.stderr}\n{self.logs()}")

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


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    """JAO, EU and NA hosts; removed at the end, whatever happened."""
    remove_leftovers()
    logs = tmp_path / "logs"
    logs.mkdir()
    made = Network.create(["jao", "eu", "na"], logs)
    try:
        yield made
    finally:
        made.remove()


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


def start_hosts(deployment: Deployment, caches: dict[str, Path]) -> None:
    """The CouchDB-compatible server, the rsync daemons and every actor, on their hosts."""
    jao = deployment.host("jao")
    couch_dir = deployment.tmp / "couchdb"
    couch_dir.mkdir()
    couch = [str(POUCHDB_SERVER), f"--host={jao.address}", f"--port={COUCH_PORT}"]
    couch += [f"--dir={couch_dir}", f"--config={couch_dir / 'config.json'}", "--no-stdout-logs"]
    jao.start("couchdb", couch, deployment.env, cwd=couch_dir)
    deployment.expect("jao", "http", deployment.store)

    for host in ("eu", "na"):
        start_rsync_daemon(deployment, host, f"{host}-cache", caches[host])
        executive = host.upper()
        runs = deployment.tmp / f"pipeline-{host}"
        deployment.actor(
            host,
            "cache",
            "replicated-cache",
            "-e",
            executive,
            "-lc",
            str(caches[host]),
            "--host",
            deployment.host(host).address,
            "-p",
            str(CACHE_PORT),
        )
        deployment.actor(host, "driver", *driver_args(executive, caches[host], runs))

    eu, na = deployment.host("eu").address, deployment.host("na").address
    deployment.actor(
        "jao",
        "cache",
        "replicated-cache",
        "-e",
        "JAO",
        "-lc",
        str(caches["jao"]),
        "-euc",
        f"{eu}::eu-cache",
        "-nac",
        f"{na}::na-cache",
        "--host",
        jao.address,
        "-p",
        str(CACHE_PORT),
    )
    deployment.actor("jao", "xtss", "xtss")
    deployment.actor(
        "jao",
        "aqua-qa2",
        "aqua-qa2",
        "-lc",
        str(caches["jao"]),
        "--autopilot",
        "Pass",
        "--cache-url",
        deployment.cache_url("jao"),
    )
    deployment.actor("jao", "ingestor", "product-ingestor", str(caches["jao"]), "--time-scale", "0")
    deployment.actor("jao", "tracker", "data-tracker", "--time-scale", "0")
    links = [f"--link={name.upper()} cache={deployment.cache_url(name)}/" for name in caches]
    deployment.drwlab(
        "jao", "dashboard", "dashboard", "--host", jao.address, "-p", str(DASHBOARD_PORT), *links
    )


def driver_args(executive: str, cache: Path, runs: Path) -> list[str]:
    return [
        "pipeline-driver",
        executive,
        str(cache),
        "--work-dir",
        str(runs),
        "--failure-rate",
        "0",
        "--seed",
        "1",
        "--time-scale",
        str(DRIVER_TIME_SCALE),
    ]


def kill_driver_mid_run(deployment: Deployment, cache: Path) -> None:
    """SIGKILL the EU driver while an EU OUS is in Processing, then start another one."""
    deployment.expect("jao", "states", deployment.store, "Processing", *EU_UIDS, timeout=60)
    deployment.host("eu").kill("driver")
    deployment.killed.add("eu-driver")
    done, seen = deployment.probe(
        "jao", "states", deployment.store, "Processing", *EU_UIDS, timeout=0
    )
    assert done, f"killed while no EU OUS was being processed: {seen}"
    runs = deployment.tmp / "pipeline-eu"
    deployment.actor("eu", "driver-again", *driver_args("EU", cache, runs))


def test_three_hosts_deliver_every_ous_through_a_killed_driver(
    network: Network, tmp_path: Path, figures: Figures
) -> None:
    started = time.monotonic()
    deployment = Deployment(network, tmp_path)
    caches = {name: tmp_path / f"{name}-cache" for name in ("jao", "eu", "na")}
    for directory in caches.values():
        directory.mkdir()
    start_hosts(deployment, caches)

    for uid in EU_UIDS:
        deployment.launch("eu", uid, "EU")
    kill_driver_mid_run(deployment, caches["eu"])
    for uid in NA_UIDS:
        deployment.launch("na", uid, "NA")
    uids = EU_UIDS + NA_UIDS
    states = deployment.expect(
        "jao", "states", deployment.store, "Delivered", *uids, "--all", timeout=DELIVERY_TIMEOUT
    )
    assert states == dict.fromkeys(uids, "Delivered")
    figures.record("hosts.three", ous=len(uids), seconds=round(time.monotonic() - started, 1))
    assert not deployment.crashed(), (deployment.crashed(), deployment.logs())

    assert_each_record_once(deployment, uids)
    assert_products_replicated(caches)
    assert_pages_answer_from_other_hosts(deployment, caches)

    codes = deployment.stop()
    assert codes == dict.fromkeys(codes, 0), (codes, deployment.logs())
    for path in (tmp_path / "logs").glob("*.log"):
        text = path.read_text(errors="replace")
        assert "Traceback" not in text, (path.name, text[-3000:])


def assert_each_record_once(deployment: Deployment, uids: list[str]) -> None:
    """Six NGAS files, five metadata records, one delivery, no dead or unread message."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # the last RPC replies may still be on their way
        _, held = deployment.probe("jao", "summary", deployment.store)
        if held["messages"].get("busy", 0) == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert held["messages"].get("dead", 0) == 0, held
    assert held["messages"].get("busy", 0) == 0, held
    for uid in uids:
        counts = held["per_ous"][uid]
        assert counts["ngas"] == 6, (uid, counts)
        assert counts["products-metadata"] == 5, (uid, counts)
        assert counts["delivery-status"] == 1, (uid, counts)
        assert counts["pipeline-reports"] == 1, (uid, counts)  # the killed run made none


def assert_products_replicated(caches: dict[str, Path]) -> None:
    """The JAO cache holds what the EU and NA caches made, pulled over the network."""
    for host in ("eu", "na"):
        made = {p.name for p in caches[host].iterdir() if p.name.startswith(PROG)}
        assert made, f"the {host} pipeline cached no products"
        pulled = {p.name for p in caches["jao"].iterdir() if p.name.startswith(PROG)}
        assert made <= pulled, (made, pulled)
        for name in made:
            source = sorted(f.name for f in (caches[host] / name).iterdir())
            assert sorted(f.name for f in (caches["jao"] / name).iterdir()) == source


def assert_pages_answer_from_other_hosts(deployment: Deployment, caches: dict[str, Path]) -> None:
    """Weblogs of each cache, and the dashboard with its links, read from another host."""
    reader = {"jao": "eu", "eu": "na", "na": "jao"}
    for host, directory in caches.items():
        weblogs = sorted((directory / "weblogs").iterdir())
        assert weblogs, f"no weblog in the {host} cache"
        url = f"{deployment.cache_url(host)}/weblogs/{weblogs[0].name}/index.html"
        page = deployment.expect(reader[host], "http", url)
        assert "<html" in page["body"].lower(), page
    dashboard = f"http://{deployment.host('jao').address}:{DASHBOARD_PORT}/"
    page = deployment.expect("na", "http", dashboard)
    for host in caches:
        link = f"{deployment.cache_url(host)}/"
        assert f'href="{link}"' in page["body"], (link, page["body"][:3000])
        listing = deployment.expect(reader[host], "http", link)
        assert "weblogs" in listing["body"], listing
