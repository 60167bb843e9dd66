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

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.deployment import (
    PROG,
    START_TIMEOUT,
    Deployment,
    pipeline_driver,
    start_workflow,
)
from tests.hosts.netns import Network, remove_leftovers
from tests.reliability.figures import Figures

EU_UIDS = ["uid://X1/X1/Xe0", "uid://X1/X1/Xe1"]
NA_UIDS = ["uid://X1/X1/Xn0"]
DASHBOARD_PORT = 5000
LEASE = 4.0
"""The actors' lease (``drwlab run --lease``): a killed driver's OUS waits this long."""
DRIVER_TIME_SCALE = 1.0
"""A pipeline run takes 3-8 s: long enough to kill the driver in the middle of one."""
DELIVERY_TIMEOUT = 150.0
PIPELINE_TIMEOUT = 60.0
PIPELINE_PROCESS = "drwlab.pipeline"
"""In the command line of a pipeline run (``python -m drwlab.pipeline``)."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("rsync") is None,
        reason="hosts as network namespaces need root, ip (iproute2) and rsync",
    ),
]


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


def start_hosts(deployment: Deployment, caches: dict[str, Path]) -> None:
    """The workflow on its three hosts, and the dashboard on JAO with a link to each cache."""
    driver = f"--failure-rate 0 --seed 1 --time-scale {DRIVER_TIME_SCALE}"
    start_workflow(deployment, caches, driver_options=driver)
    links = [f"--link={name.upper()} cache={deployment.cache_url(name)}/" for name in caches]
    address = deployment.host("jao").address
    dashboard = ["dashboard", "--host", address, "-p", str(DASHBOARD_PORT), *links]
    deployment.drwlab("jao", "dashboard", *dashboard)


def driver_command(deployment: Deployment, host: str, cache: Path) -> list[str]:
    """The arguments ``start_workflow`` gave the pipeline driver of ``host``."""
    runs = deployment.tmp / f"pipeline-{host}"
    options = f"--failure-rate 0 --seed 1 --time-scale {DRIVER_TIME_SCALE}"
    return pipeline_driver(host, cache, runs, options)


def kill_driver_mid_run(deployment: Deployment, cache: Path) -> None:
    """SIGKILL the EU driver (with its process group) while it runs a pipeline, then
    start another one."""
    eu = deployment.host("eu")
    deadline = time.monotonic() + PIPELINE_TIMEOUT
    while not eu.running(PIPELINE_PROCESS):
        assert time.monotonic() < deadline, f"no pipeline ran on EU\n{deployment.logs()}"
        time.sleep(0.05)
    eu.kill("driver")
    deployment.killed.add("eu-driver")
    done, seen = deployment.probe(
        "jao", "states", deployment.store, "Processing", *EU_UIDS, timeout=0
    )
    assert done, f"killed while no EU OUS was being processed: {seen}"
    deployment.actor("eu", "driver-again", *driver_command(deployment, "eu", cache))


def test_three_hosts_deliver_every_ous_through_a_killed_driver(
    network: Network, tmp_path: Path, figures: Figures
) -> None:
    started = time.monotonic()
    deployment = Deployment(network, tmp_path, lease=LEASE)
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
