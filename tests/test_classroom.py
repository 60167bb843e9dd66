"""The class as one system: the instructor's workflow, learners reviewing on the same store.

The instructor's actors run in this process (``host_class`` on the project's
pouchdb-server); each learner is a ``drwlab run aqua-qa2 --reviewer NAME``
process, played by its autopilot, so every learner presses Review on every OUS
that becomes ready, as fast as it can. Each OUS must be reviewed exactly once,
every OUS Delivered, and the instructor's table must name the learner whose own
log says it passed the OUS.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.qa2_reviews import reviews_of
from drwlab.bus.message import DB as MSGQ
from drwlab.classroom import Learner, host_class, join_class, reviews
from drwlab.classroom_cli import ClassLog
from drwlab.lifecycle import State
from drwlab.sandbox import Sandbox
from drwlab.store import Store, open_store
from drwlab.store.base import Doc
from drwlab.uids import uid_to_doc_id
from drwlab.wire import STATUS_DB
from tests.reliability.figures import Figures
from tests.servers import CouchServer
from tests.test_cli import drwlab
from tests.test_many_processes import PROG, Processes

LEARNERS = ("ana", "bo", "cy")
OUSS = [f"uid://X1/X1/Xc{n:x}" for n in range(10)]
DELIVERY_TIMEOUT = 240.0
TIME_SCALE = 0.05
LEASE = 5.0
DECIDED = re.compile(r"aqua-qa2\.(\w+) autopilot: (uid://\S+) Pass")
"""The line a learner's AQUA logs when its autopilot passed an OUS."""


@pytest.fixture
def couch_store(couch_server: CouchServer) -> Iterator[Store]:
    couch_server.drop_all_databases()
    with open_store(couch_server.url) as opened:
        yield opened


@pytest.fixture
def instructor(couch_store: Store, tmp_path: Path) -> Iterator[Sandbox]:
    """The instructor's workflow on the class's store: two pipeline runs at once, none fails."""
    sandbox = host_class(
        couch_store,
        workdir=tmp_path / "instructor",
        time_scale=TIME_SCALE,
        seed=1,
        failure_rate=0,
        max_runs=2,
        lease=LEASE,
    )
    try:
        yield sandbox
    finally:
        sandbox.stop()


def wait_delivered(sandbox: Sandbox, uids: list[str], timeout: float, logs: str = "") -> None:
    deadline = time.monotonic() + timeout
    for uid in uids:
        try:
            sandbox.wait_for(uid, State.DELIVERED, timeout=max(1.0, deadline - time.monotonic()))
        except TimeoutError as error:
            pytest.fail(f"{error}\n{logs}")


@pytest.mark.slow
def test_three_learner_processes_review_each_ous_exactly_once(
    instructor: Sandbox, couch_server: CouchServer, tmp_path: Path, figures: Figures
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    learners = Processes(couch_server.url, logs)
    try:
        for name in LEARNERS:
            learners.start(name, f"run --lease {LEASE} aqua-qa2 --reviewer {name} --autopilot Pass")
        started = time.monotonic()
        for uid in OUSS:
            instructor.launch(PROG, uid)
        wait_delivered(instructor, OUSS, DELIVERY_TIMEOUT, _tails(learners))
        seconds = time.monotonic() - started
        codes = learners.terminate_all()
    finally:
        learners.terminate_all()
    assert codes == dict.fromkeys(LEARNERS, 0), _tails(learners)

    table = reviews(instructor.store)
    assert sorted(table["uid"]) == sorted(OUSS), table  # each OUS once, none twice
    assert set(table["decision"]) == {"Pass"}
    said = decided_by_logs(learners)
    assert dict(zip(table["uid"], table["reviewer"], strict=True)) == said
    for entity in instructor.store.find(STATUS_DB, {}):
        reviewing = [e for e in entity["history"] if e["state"] == State.REVIEWING.value]
        assert len(reviewing) == 1, entity["history"]
    assert instructor.store.find(MSGQ, {"state": "dead"}) == []
    for name in LEARNERS:
        assert "Traceback" not in learners.log(name), learners.log(name)[-3000:]
    won = {name: list(said.values()).count(name) for name in LEARNERS}
    lost = sum(learners.log(name).count("is already under review by") for name in LEARNERS)
    figures.record(
        "classroom.processes", ouss=len(OUSS), seconds=round(seconds, 1), won=won, lost=lost
    )


def decided_by_logs(learners: Processes) -> dict[str, str]:
    """OUS -> the learner whose log says its autopilot passed it."""
    return decided_in({name: learners.log(name) for name in LEARNERS})


def decided_in(logs: dict[str, str]) -> dict[str, str]:
    """OUS -> the learner whose log (learner -> log text) says its autopilot passed it;
    fails if two logs claim one OUS."""
    said: dict[str, str] = {}
    for name, text in logs.items():
        for reviewer, uid in DECIDED.findall(text):
            assert reviewer == name
            assert uid not in said, f"{uid} passed by {said.get(uid)} and {name}"
            said[uid] = name
    return said


def _tails(learners: Processes) -> str:
    return "\n".join(f"--- {n}\n{learners.log(n)[-1500:]}" for n in LEARNERS)


def test_a_learner_with_a_second_driver_competes_and_each_ous_is_processed_once(
    instructor: Sandbox,
) -> None:
    uids = OUSS[:4]
    with join_class(
        instructor.store,
        "ana",
        driver_cache=instructor.caches["EU"],
        autopilot="Pass",
        time_scale=TIME_SCALE,
        failure_rate=0,  # as the instructor's: every OUS is to reach Delivered
        lease=LEASE,
    ) as learner:
        assert learner.driver is not None and learner.driver.is_alive
        for uid in uids:
            instructor.launch(PROG, uid)
        wait_delivered(instructor, uids, DELIVERY_TIMEOUT)
    drivers = {"pipeline-driver.EU", "pipeline-driver.EU.ana"}
    for uid in uids:
        history = instructor.wait_for(uid, State.DELIVERED)["history"]
        processing = [e["actor"] for e in history if e["state"] == State.PROCESSING.value]
        assert len(processing) == 1 and processing[0] in drivers, history
        assert len(instructor.store.find("pipeline-reports", {"ousUID": uid})) == 1
    assert not learner.running


def test_the_instructors_aqua_never_decides_and_a_bad_name_joins_nobody(
    couch_store: Store,
) -> None:
    with pytest.raises(ValueError, match="the class decides"):
        host_class(couch_store, autopilot="Pass")
    with pytest.raises(ValueError, match="not a reviewer's name"):
        join_class(couch_store, "ana/../bo")
    assert couch_store.find(MSGQ, {}) == []


def entity_with(uid: str, *steps: tuple[str, str, str | None]) -> Doc:
    """A status entity whose history holds ``steps`` (state, actor, reason) in order."""
    history = [
        {"state": state, "actor": actor, "operation": "set-state", "timestamp": f"T{n}"}
        | ({"reason": reason} if reason else {})
        for n, (state, actor, reason) in enumerate(steps)
    ]
    return {"_id": uid_to_doc_id(uid), "entityId": uid, "history": history}


def test_the_instructors_log_writes_each_decision_once_as_it_comes(couch_store: Store) -> None:
    couch_store.create_db(STATUS_DB)
    ready = ("ReadyForReview", "pipeline-driver.EU", None)
    doc = entity_with(OUSS[0], ready, ("Reviewing", "bo", None))
    couch_store.put(STATUS_DB, doc)
    out = io.StringIO()
    log = ClassLog(couch_store, out=out)
    assert log.write_new() == 0  # under review: not decided yet
    doc = couch_store.get(STATUS_DB, doc["_id"])
    doc["history"].append({**doc["history"][-1], "state": "Verified", "reason": "QA2 Pass"})
    couch_store.put(STATUS_DB, doc)
    assert log.write_new() == 1
    assert log.write_new() == 0
    [line] = out.getvalue().splitlines()
    assert line.endswith(f"{OUSS[0]}: Pass by bo")
    [record] = reviews_of(couch_store.get(STATUS_DB, doc["_id"]))
    assert line.startswith(str(record.decided))


def test_a_learner_stopped_twice_is_stopped(instructor: Sandbox) -> None:
    learner: Learner = join_class(instructor.store, "cy")
    assert learner.running
    learner.stop()
    learner.stop()
    assert not learner.running


def test_drwlab_classroom_says_where_the_caches_are_and_stops_cleanly_on_sigterm(
    couch_server: CouchServer, tmp_path: Path
) -> None:
    couch_server.drop_all_databases()
    processes = Processes(couch_server.url, tmp_path)
    try:
        processes.start("classroom", f"classroom --workdir {tmp_path / 'class'} --time-scale 0")
        deadline = time.monotonic() + 60
        while "cache.JAO: http://127.0.0.1:" not in processes.log("classroom"):
            assert time.monotonic() < deadline, processes.log("classroom")
            assert not processes.dead(), processes.log("classroom")
            time.sleep(0.1)
    finally:
        codes = processes.terminate_all()
    assert codes == {"classroom": 0}, processes.log("classroom")
    assert f"class running on {couch_server.url}" in processes.log("classroom")


def test_a_learner_with_a_name_that_cannot_be_recorded_is_told_why(
    couch_server: CouchServer,
) -> None:
    result = drwlab("--store", couch_server.url, "run", "aqua-qa2", "--reviewer=ana/bo")
    assert result.returncode != 0
    assert "not a reviewer's name" in result.stderr
