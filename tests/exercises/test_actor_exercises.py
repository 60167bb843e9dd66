"""Notebook 06's exercises, met as the notebook meets them: the actor and the rule are the
notebook's own cells, run here; each check says what is missing before the reader acts, the
solution file passes it, and an answer that is only half right is told why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from drwlab.actors import AquaQA2
from drwlab.exercises import evaluate
from drwlab.sandbox import Sandbox
from tests.exercises.test_solutions import assert_unsolved_then_solved

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06-your-actor.ipynb"


def notebook_cells(*starts: str) -> str:
    """The code of the notebook's cells that define ``starts`` (the reader's own code)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    chosen = [source for source in sources if any(start in source for start in starts)]
    assert len(chosen) == len(starts), starts
    return "\n\n".join(chosen)


@pytest.fixture
def notebook() -> Iterator[dict[str, Any]]:
    """The notebook's namespace up to its exercises: a sandbox at EU and NA running its
    ShortestQueue, and an AQUA deciding by its fail_low_stages rule."""
    with Sandbox(
        time_scale=0, seed=12, failure_rate=0.0, executives=("EU", "NA"), autopilot=False
    ) as sandbox:
        namespace: dict[str, Any] = {"sb": sandbox}
        exec(notebook_cells("def shortest_queue(", "class ShortestQueue(", "def fail_low_stages("),
             namespace)  # fmt: skip
        namespace["dra"] = sandbox.add_actor(namespace["ShortestQueue"](sandbox.bus, sandbox.store))
        put_aqua(sandbox, namespace["fail_low_stages"])
        yield namespace


def test_06_actor_exercises(notebook: dict[str, Any]) -> None:
    assert_unsolved_then_solved("06-redelivery", notebook, "still runs the notebook's")
    assert_unsolved_then_solved("06-your-rule", notebook, "expected SemiPass")


def test_run_all_checks_the_notebooks_actor_without_assigning_anything(
    notebook: dict[str, Any],
) -> None:
    sandbox: Sandbox = notebook["sb"]
    result = evaluate("06-redelivery", notebook)
    assert not result.passed and "sb.replace_actor('shortest-queue'" in result.message
    assert not any(uid.startswith("uid://X1/X1/Xe") for uid in _uids(sandbox))
    assert not sandbox.store.find("msgq", {"selector": {"$regex": "^pipeline[.]process"}})


def test_a_class_that_does_a_redelivery_again_is_told_so(notebook: dict[str, Any]) -> None:
    code = (
        "class Same(ShortestQueue): pass\n"
        "sb.replace_actor('shortest-queue', Same(sb.bus, sb.store))\n"
    )
    exec(code, notebook)
    result = evaluate("06-redelivery", notebook)
    assert not result.passed and "delivered again, was done again" in result.message


def _uids(sandbox: Sandbox) -> list[str]:
    return [str(doc.get("entityId")) for doc in sandbox.store.all_docs("status-entities")]


def test_a_redelivery_dropped_without_looking_is_told_so(notebook: dict[str, Any]) -> None:
    code = (
        "from drwlab.actors import is_redelivery\n"
        "class Forgetful(ShortestQueue):\n"
        "    def handle(self, message):\n"
        "        if not is_redelivery(message):\n"
        "            super().handle(message)\n"
        "sb.replace_actor('shortest-queue', Forgetful(sb.bus, sb.store))\n"
    )
    exec(code, notebook)
    result = evaluate("06-redelivery", notebook)
    assert not result.passed and "first delivery did nothing was dropped" in result.message


def put_aqua(sandbox: Sandbox, autopilot: Any) -> None:
    """An AQUA QA2 deciding by ``autopilot`` in place of the sandbox's."""
    aqua = AquaQA2(
        sandbox.bus,
        sandbox.store,
        cache_dir=sandbox.caches["JAO"],
        cache_url=sandbox.urls["cache.JAO"],
        autopilot=autopilot,
    )
    sandbox.replace_actor("aqua-qa2", aqua)


@pytest.mark.parametrize(
    ("autopilot", "said"),
    [
        (None, "AQUA decides nothing by itself"),
        ("Pass", "gives Pass to every run"),
        (lambda review: review.no_such_thing, "raised AttributeError"),
        (lambda review: "Fail" if review.report.overall < 0.33 else "Pass", "expected SemiPass"),
    ],
)
def test_a_rule_that_is_not_the_exercise_s_is_told_what_it_does(
    notebook: dict[str, Any], autopilot: Any, said: str
) -> None:
    put_aqua(notebook["sb"], autopilot)
    result = evaluate("06-your-rule", notebook)
    assert not result.passed and said in result.message, result.line
