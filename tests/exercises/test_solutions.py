"""Every exercise, the way its notebook meets it: the check says what is missing before the
reader acts, and the solution file, run in the notebook's place, passes its own check.

Each notebook's story up to its exercises is replayed on a Sandbox at time scale 0 (the
notebooks' fast mode), with no automatic QA2 decisions; the solution file's text is run in
a namespace holding the names the notebook defines above the exercise (``Exercise.needs``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab import MessageBus
from drwlab import notebook as nb
from drwlab.exercises import EXERCISES, add_failing_driver, evaluate, solution_path
from drwlab.sandbox import Sandbox
from tests.actors.conftest import wait_until

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PROJECT = "2015.1.00657.S"
PATIENCE = 60.0


def solve(name: str, namespace: dict[str, Any]) -> None:
    """Run the solution file of ``name`` as the reader's cell would, in ``namespace``."""
    assert set(EXERCISES[name].needs) <= set(namespace), f"{name} needs {EXERCISES[name].needs}"
    path = solution_path(name, NOTEBOOKS)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)


def assert_unsolved_then_solved(name: str, namespace: dict[str, Any], missing: str) -> None:
    before = evaluate(name, namespace)
    assert not before.passed and not before.pending, before.line
    assert missing in before.message, before.line
    solve(name, namespace)
    after = evaluate(name, namespace, patience=PATIENCE)
    assert after.passed, after.line
    assert after.line.startswith("\u2714 " + name)


def ready_for_review(sandbox: Sandbox, *uids: str) -> None:
    for uid in uids:
        sandbox.launch(PROJECT, uid)
    for uid in uids:
        sandbox.wait_for(uid, "ReadyForReview", timeout=60)
        nb.wait_for_weblog(sandbox, uid)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(time_scale=0, seed=5, failure_rate=0.0, autopilot=False) as running:
        yield running


def test_01_bus_exercises(sandbox: Sandbox) -> None:
    bus = MessageBus(sandbox.store, retry_delay=0.1)
    namespace: dict[str, Any] = {"sb": sandbox, "bus": bus}
    try:
        assert_unsolved_then_solved("01-competing-listeners", namespace, "start worker-A")
        assert_unsolved_then_solved("01-flaky-handler", namespace, "no message on exercise.flaky")
    finally:
        bus.close()


def test_02_pipeline_exercises(sandbox: Sandbox) -> None:
    namespace: dict[str, Any] = {"sb": sandbox}
    ready_for_review(sandbox, "uid://X1/X1/Xb0")
    assert_unsolved_then_solved("02-jao-products", namespace, "variable named jao_products")
    add_failing_driver(sandbox)  # the exercise's own set-up line, above the reader's cell
    assert_unsolved_then_solved("02-always-failing", namespace, "launch uid://X1/X1/Xc0")
    assert sandbox.entity("uid://X1/X1/Xb0")["state"] == "ReadyForReview"  # left alone


def test_03_qa2_exercises(sandbox: Sandbox) -> None:
    namespace: dict[str, Any] = {"sb": sandbox}
    ready_for_review(sandbox, "uid://X1/X1/Xb0", "uid://X1/X1/Xb1", "uid://X1/X1/Xb2")
    sandbox.qa2.review("uid://X1/X1/Xb1")  # the notebook's "same API from code" cell
    sandbox.qa2.decide("uid://X1/X1/Xb1", "SemiPass")
    assert_unsolved_then_solved("03-cancel-then-fail", namespace, "review it")
    assert_unsolved_then_solved("03-decide-twice", namespace, "in a try block")
    assert sandbox.entity("uid://X1/X1/Xb0")["state"] == "ReadyForReview"  # the reader's own


def test_04_delivery_exercises(sandbox: Sandbox) -> None:
    namespace: dict[str, Any] = {"sb": sandbox, "nb": nb}
    ready_for_review(sandbox, "uid://X1/X1/Xb0")
    sandbox.qa2.review("uid://X1/X1/Xb0")
    sandbox.qa2.decide("uid://X1/X1/Xb0", "Pass")
    sandbox.wait_for("uid://X1/X1/Xb0", "Delivered", timeout=60)
    assert_unsolved_then_solved("04-semipass-delivery", namespace, "launch uid://X1/X1/Xb1")
    assert_unsolved_then_solved("04-metadata-ids", namespace, "set named metadata_ids")
    wait_until(lambda: len(sandbox.store.find("ngas", {})) == 12, what="both OUSs in NGAS")


def test_every_exercise_has_a_solution_file_and_every_file_an_exercise() -> None:
    files = {path.stem for path in (NOTEBOOKS / "solutions").glob("*.py")}
    assert files == set(EXERCISES)
