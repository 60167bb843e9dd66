"""A classroom across hosts: an instructor's host and three learners' hosts, in both modes.

Four network namespaces of this machine stand for four machines on a private
/24 that exists only inside them (tests/hosts/netns.py): the instructor's host
(``jao``, 10.215.15.1) runs pouchdb-server; the learners' hosts are ``ana``,
``bo`` and ``cy``.

*The class as one system*: the instructor's host also runs ``drwlab
classroom``, the whole workflow in one process, its caches served on the
host's address, AQUA never deciding; each learner's host runs ``drwlab run
aqua-qa2 --reviewer NAME --autopilot Pass`` against the instructor's server, so
each presses Review on every OUS as soon as it is ready. Ten OUSs are launched
on the instructor's host. Every OUS must be Delivered and reviewed exactly once
(its history), by the learner whose own log says it passed it, and the
instructor's terminal must print that same learner; the instructor's JAO cache
answers from a learner's host; every process stops cleanly on SIGTERM.

*Each learner alone*: each learner's host runs the whole workflow (``drwlab
demo``) in a namespace of its own on the instructor's server, all three
launching the same OUS ids at once. Each must deliver its own, and each
namespace must hold its learner's OUSs only, each processed and reviewed once.

The network namespaces are removed at the end whatever happened.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.qa2_reviews import reviews_of
from tests.hosts.deployment import START_TIMEOUT, Deployment, DeploymentError, start_couch
from tests.hosts.netns import Network, remove_leftovers
from tests.reliability.figures import Figures
from tests.test_classroom import LEARNERS, OUSS, decided_in

INSTRUCTOR = "jao"
LEASE = 5.0
DELIVERY_TIMEOUT = 300.0
TIME_SCALE = 0.05
CACHE_LINE = re.compile(r"^  cache\.JAO: (\S+)$", re.MULTILINE)
"""Where ``drwlab classroom`` says the instructor's JAO cache is."""
DECISION_LINE = re.compile(r"(uid://\S+): Pass by (\S+)$", re.MULTILINE)
"""The instructor's terminal: one line per decision."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="hosts as network namespaces need root and ip (iproute2)",
    ),
]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    """The instructor's host and one host per learner; removed at the end, whatever happened."""
    remove_leftovers()
    logs = tmp_path / "logs"
    logs.mkdir()
    made = Network.create([INSTRUCTOR, *LEARNERS], logs)
    try:
        yield made
    finally:
        made.remove()


def start_instructor(deployment: Deployment) -> str:
    """pouchdb-server and ``drwlab classroom`` on the instructor's host; its JAO cache URL."""
    start_couch(deployment)
    address = deployment.host(INSTRUCTOR).address
    options = f"--host {address} --time-scale {TIME_SCALE} --seed 1 --failure-rate 0"
    options += f" --max-runs 2 --lease {LEASE}"
    deployment.drwlab(INSTRUCTOR, "classroom", "classroom", *options.split())
    log = deployment.host(INSTRUCTOR).log_path("classroom")
    deadline = time.monotonic() + START_TIMEOUT
    while not (found := CACHE_LINE.search(log.read_text(errors="replace"))):
        if time.monotonic() > deadline:
            raise DeploymentError(f"drwlab classroom did not start\n{deployment.logs()}")
        time.sleep(0.2)
    return found.group(1)


def test_learners_on_three_hosts_review_each_ous_exactly_once(
    network: Network, tmp_path: Path, figures: Figures
) -> None:
    deployment = Deployment(network, tmp_path, lease=LEASE)
    cache_url = start_instructor(deployment)
    for name in LEARNERS:
        qa2 = f"aqua-qa2 --reviewer {name} --autopilot Pass --cache-url {cache_url}"
        deployment.actor(name, "learner", *qa2.split())
    started = time.monotonic()
    deployment.expect(INSTRUCTOR, "launch", deployment.store, *OUSS, "--executive", "EU")
    states = deployment.expect(
        INSTRUCTOR,
        "states",
        deployment.store,
        "Delivered",
        *OUSS,
        "--all",
        timeout=DELIVERY_TIMEOUT,
    )
    seconds = time.monotonic() - started
    assert states == dict.fromkeys(OUSS, "Delivered")
    assert not deployment.crashed(), (deployment.crashed(), deployment.logs())

    entities = deployment.expect(LEARNERS[0], "entities", deployment.store, *OUSS)["entities"]
    records = [record for entity in entities for record in reviews_of(entity)]
    assert sorted(r.uid for r in records) == sorted(OUSS), records  # each reviewed once
    assert {r.decision for r in records} == {"Pass"}
    logs = {name: deployment.host(name).log_path("learner").read_text() for name in LEARNERS}
    said = decided_in(logs)
    assert {r.uid: r.reviewer for r in records} == said
    printed = deployment.host(INSTRUCTOR).log_path("classroom").read_text()
    assert dict(DECISION_LINE.findall(printed)) == said

    listing = deployment.expect(LEARNERS[-1], "http", cache_url)
    assert "weblogs" in listing["body"], listing

    codes = deployment.stop()
    assert codes == dict.fromkeys(codes, 0), (codes, deployment.logs())
    for path in (tmp_path / "logs").glob("*.log"):
        text = path.read_text(errors="replace")
        assert "Traceback" not in text, (path.name, text[-3000:])
    won = {name: list(said.values()).count(name) for name in LEARNERS}
    figures.record("classroom.hosts", ouss=len(OUSS), seconds=round(seconds, 1), won=won)


DEMO_OUSS = [f"uid://X1/X1/Xb{n}" for n in range(3)]
"""What ``drwlab demo -n 3`` launches on an empty store: the same ids for every learner."""


def test_learners_alone_on_three_hosts_see_only_their_own_ouss(
    network: Network, tmp_path: Path
) -> None:
    deployment = Deployment(network, tmp_path, lease=LEASE)
    start_couch(deployment)
    stores = {name: f"{deployment.store}?namespace={name}" for name in LEARNERS}
    for name in LEARNERS:
        demo = f"demo -n {len(DEMO_OUSS)} --seed 1 --failure-rate 0 --time-scale {TIME_SCALE}"
        command = [sys.executable, "-m", "drwlab", "--store", stores[name], *demo.split()]
        deployment.host(name).start("demo", command, deployment.env, cwd=tmp_path)
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while not all(deployment.host(name).dead() for name in LEARNERS):
        assert time.monotonic() < deadline, f"the demos did not end\n{deployment.logs()}"
        time.sleep(0.5)
    ended = {name: deployment.host(name).dead() for name in LEARNERS}
    assert ended == {name: {"demo": 0} for name in LEARNERS}, deployment.logs()

    for name in LEARNERS:
        seen = deployment.expect(INSTRUCTOR, "summary", stores[name])
        assert sorted(seen["states"].values()) == ["Delivered"] * len(DEMO_OUSS), (name, seen)
        assert sorted(seen["per_ous"]) == DEMO_OUSS, (name, seen)  # nobody else's products
        for uid, counts in seen["per_ous"].items():  # one run, one delivery each
            assert counts["pipeline-reports"] == counts["delivery-status"] == 1, (name, uid)
        assert set(seen["messages"]) == {"done"}, (name, seen["messages"])
        entities = deployment.expect(INSTRUCTOR, "entities", stores[name], *DEMO_OUSS)
        for entity in entities["entities"]:
            assert len(reviews_of(entity)) == 1, (name, entity["history"])
