"""Notebook 05's exercises, the way the notebook meets them: each check says what is missing
before the reader acts, and the solution file, run in the notebook's place, passes it.

The notebook's lessons up to the exercises are replayed on one Sandbox: two competing
drivers and a short lease (``prepare_faults``), a crash of the driver holding Xc0, and the
poison message X2.fits dead-lettered. Pipeline runs last about a second (time scale 0.2),
so that a driver holds its OUS long enough to be crashed while it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drwlab.exercises import evaluate
from drwlab.faults import requeue
from drwlab.sandbox import Sandbox
from drwlab.views import tables
from tests.actors.conftest import wait_until
from tests.exercises.test_solutions import assert_unsolved_then_solved

PROJECT = "2016.1.00001.S"
LESSON_OUS = "uid://X1/X1/Xc0"

POISON_LESSON = """
ingested = []
def ingest(body):
    size = int(body["size"])
    ingested.append((body["file"], size))

ingestor = sb.bus.listen("ingest.files", lambda body: ingest(body), name="ingestor")
for file, size in [("X1.fits", "2048"), ("X2.fits", "2 kB"), ("X3.fits", "4096")]:
    sb.bus.send("ingest.files", {"file": file, "size": size})
"""


@pytest.fixture
def broken() -> Iterator[Sandbox]:
    """The sandbox as notebook 05 leaves it before its exercises."""
    with Sandbox(time_scale=0.2, seed=5, failure_rate=0.0, autopilot=False) as sandbox:
        sandbox.prepare_faults(lease=2)
        sandbox.add_pipeline_driver()
        sandbox.launch(PROJECT, LESSON_OUS)
        sandbox.wait_for(LESSON_OUS, "Processing", timeout=60)
        crashed = sandbox.crash(str(sandbox.holder(LESSON_OUS)))
        assert crashed.held, "the lesson's crash came after the run"
        sandbox.wait_for(LESSON_OUS, "ReadyForReview", timeout=60)
        yield sandbox


def test_05_fault_exercises(broken: Sandbox) -> None:
    namespace: dict[str, Any] = {"sb": broken, "requeue": requeue, "PROJECT": PROJECT}
    exec(POISON_LESSON, namespace)
    wait_until(lambda: len(tables.dead_letters(broken.store)) == 1, what="X2.fits dead")
    assert_unsolved_then_solved("05-requeue-dead-letter", namespace, "X2.fits is a dead letter")
    assert ("X2.fits", 2048) in namespace["ingested"]
    assert_unsolved_then_solved("05-crash-the-survivor", namespace, "launch uid://X1/X1/Xc1")


def test_a_crash_with_no_driver_left_is_explained(broken: Sandbox) -> None:
    """The survivor crashed with no fresh driver to take over: said so, not waited for."""
    broken.launch(PROJECT, "uid://X1/X1/Xc1")
    broken.wait_for("uid://X1/X1/Xc1", "Processing", timeout=60)
    broken.crash(str(broken.holder("uid://X1/X1/Xc1")))
    result = evaluate("05-crash-the-survivor", {"sb": broken})
    assert not result.passed and not result.pending, result.line
    assert "sb.add_pipeline_driver()" in result.message, result.line
