"""The mock pipeline crashing, hanging past its timeout, dying, or leaving a partial tree.

One pipeline driver serves a queue of OUSs launched at once. Its pipeline
command is a small wrapper that makes the run of a given OUS fail in a given
way (``--simulate`` of ``drwlab.pipeline``) and leaves the others alone, so
the faults come one after another, between good runs, as they would in
production. Every faulty OUS must end in ProcessingProblem with its reason,
nothing of a failed run may be published (cache, ``cached.*``, report), a hung
pipeline must be killed, and the driver must carry on serving.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.launcher import Launcher
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.lifecycle import State
from drwlab.store import Store
from drwlab.store.base import Doc
from drwlab.uids import uid_to_dashed, uid_to_doc_id
from tests.reliability.files import wait_until

PROG = "2015.1.00657.S"
TIMEOUT = 3.0
FAULTS = {
    "uid://X1/X1/Xc1": ("crash", ["crashed", "exit code 1", "simulated pipeline crash"]),
    "uid://X1/X1/Xc2": ("hang", ["timed out after 3 s", "killed"]),
    "uid://X1/X1/Xc3": ("partial", ["incomplete products tree", "missing", "weblog"]),
    "uid://X1/X1/Xc4": ("kill", ["killed by signal 9"]),
}
GOOD = ("uid://X1/X1/Xc0", "uid://X1/X1/Xc5")


def fault_wrapper(path: Path) -> Path:
    """An executable standing for python that adds ``--simulate`` for the faulty OUSs
    (after ``-m drwlab.pipeline``: the pipeline's positional arguments follow ``--``)."""
    cases = "\n".join(
        f'  *"{uid} "*) m="$1"; module="$2"; shift 2; '
        f'exec "{sys.executable}" "$m" "$module" --simulate={how} "$@" ;;'
        for uid, (how, _) in FAULTS.items()
    )
    path.write_text(f'#!/bin/sh\ncase "$* " in\n{cases}\nesac\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def driver(store: Store, tmp_path: Path) -> Iterator[tuple[MessageBus, PipelineDriver]]:
    bus = MessageBus(store, lease=10.0, max_attempts=2, retry_delay=0.05)
    xtss = Xtss(bus, store).start()
    actor = PipelineDriver(
        bus,
        store,
        executive="EU",
        cache_dir=tmp_path / "eu-cache",
        work_dir=tmp_path / "pipeline",
        time_scale=0.0,
        failure_rate=0.0,
        pipeline_timeout=TIMEOUT,
        python=str(fault_wrapper(tmp_path / "python-with-faults")),
    ).start()
    try:
        yield bus, actor
    finally:
        actor.stop(timeout=5.0)
        xtss.stop()
        bus.close()


def entity(store: Store, uid: str) -> Doc:
    return store.get("status-entities", uid_to_doc_id(uid))


def resting(store: Store, uid: str) -> Doc | None:
    doc = entity(store, uid)
    return doc if doc["state"] in ("ProcessingProblem", "ReadyForReview") else None


def pipelines_running(uid: str, workdir: Path) -> list[str]:
    """Processes whose command line names ``uid`` and a path in ``workdir`` (Linux; elsewhere
    none are seen). The path tells this test's pipelines from another test's on the same uid
    (the other xdist worker's)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if uid.encode() in words and any(str(workdir).encode() in word for word in words):
            found.append(cmdline.parent.name)
    return found


def test_each_pipeline_fault_ends_in_processing_problem_and_the_driver_carries_on(
    store: Store, driver: tuple[MessageBus, PipelineDriver], tmp_path: Path
) -> None:
    bus, actor = driver
    order = [GOOD[0], *FAULTS, GOOD[1]]
    launcher = Launcher(bus, store)
    for uid in order:
        launcher.launch(PROG, uid)

    final = {
        uid: wait_until(lambda uid=uid: resting(store, uid), 60, f"{uid} processed", store=store)
        for uid in order
    }

    for uid, (how, reason) in FAULTS.items():
        doc = final[uid]
        assert doc["state"] == State.PROCESSING_PROBLEM.value, f"{how}: {doc['state']}"
        problem = doc.get("problem", "")
        assert all(word in problem for word in reason), f"{how}: reason {problem!r}"
        assert [h["state"] for h in doc["history"]].count("Processing") == 1
        assert pipelines_running(uid, tmp_path) == [], f"the {how} pipeline of {uid} still runs"
    assert [final[uid]["state"] for uid in GOOD] == ["ReadyForReview"] * 2
    assert actor.is_alive

    published = [m["body"] for m in bus.unread("pipeline.report.JAO")]
    assert sorted(m["ousUID"] for m in published) == sorted(GOOD), "only good runs are reported"
    cached = " ".join(m["body"]["name"] for m in bus.unread("cached.JAO"))
    cache = " ".join(os.listdir(tmp_path / "eu-cache"))
    for uid in FAULTS:
        assert uid_to_dashed(uid) not in cached + cache, f"a failed run of {uid} was published"
    assert bus.dead_letters() == []
