"""A learner presses Run All a second time in the same kernel: the notebook shows it again.

Each notebook is executed three times in one kernel, as JupyterLab's Run All
does (nbclient sends the same cells again to the same kernel), in fast mode:
as it comes, with the solutions loaded (the exercise cells as ``%load``
leaves them), and as it comes again. Every run must be clean (no error,
nothing on stderr); the solved run passes every check; the third run shows
what the first showed, the same verdicts (a ✔ is only for what was done in
this run, not in an earlier one), none of the threads the run before started
still alive, and no more docked panels than a run leaves (an earlier run's views,
buses and actors end with its sandbox).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from drwlab.exercises import EXERCISES, load_line, solution_path
from drwlab.exercises.check import FAIL_MARK, PASS_MARK

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))
FAST = {"DRWLAB_TIME_SCALE": "0.05", "DRWLAB_NO_SKIPS": "1"}
CELL_TIMEOUT = 180

START_PROBE = """
import threading
_drwlab_threads_at_start = set(threading.enumerate())
"""
"""The threads alive when a run starts: what the kernel and earlier runs left."""

END_PROBE = """
import json, threading, time
from ipywidgets.widgets.widget import _instances
time.sleep(1.5)  # the first run's views end within a heartbeat of its sandbox (0.5 s)
_drwlab_now = set(threading.enumerate())
_drwlab_outlived = globals().get("_drwlab_started_by_last_run", set()) & _drwlab_now
_drwlab_started_by_last_run = {  # not the kernel's own, which it may start at any time
    thread  # (zmq's garbage collector starts at the first large message and stays)
    for thread in _drwlab_now - _drwlab_threads_at_start
    if not type(thread).__module__.startswith(("zmq.", "ipykernel."))
}
print(json.dumps({
    "outlived": sorted(thread.name for thread in _drwlab_outlived),
    "docks": sum(type(w).__name__ == "Sidecar" for w in list(_instances.values())),
}))
"""
"""What one run leaves running in the kernel: the threads that the run before started
and that are still alive (compared as thread objects, so a thread that merely
comes and goes in both runs, a web request's or a pool's, is not mistaken for a
leftover), and its open side panels."""


@dataclass
class Run:
    """The outputs of one Run All and what it left running."""

    errors: list[str]
    stderr: list[str]
    verdicts: list[str]
    outlived: list[str]
    docks: int


def with_solutions(notebook: Any) -> Any:
    """The notebook as a learner leaves it after ``%load``: each exercise cell holds its
    commented load line, then the solution's code."""
    solved = copy.deepcopy(notebook)
    for cell in solved.cells:
        for name in EXERCISES:
            if cell.source.strip() == load_line(name):
                solution = solution_path(name, NOTEBOOKS).read_text(encoding="utf-8")
                cell.source = f"{load_line(name)}\n{solution}"
    return solved


def outputs_of(notebook: Any, probe: str) -> Run:
    errors, stderr, verdicts = [], [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                errors.append(f"{output['ename']}: {output['evalue']} in {cell.source[:60]!r}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                stderr.append(f"{output['text']!r} in {cell.source[:60]!r}")
            elif output["output_type"] == "stream" and output["text"][:1] in (
                PASS_MARK,
                FAIL_MARK,
            ):
                verdicts.append(output["text"].split(":", 1)[0])
    left = json.loads(probe)
    return Run(errors, stderr, verdicts, left["outlived"], left["docks"])


class Kernel:
    """One kernel running notebooks one Run All after another, like a learner's."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def run_all(self, notebook: Any) -> Run:
        ran = copy.deepcopy(notebook)
        probe = nbformat.v4.new_code_cell(END_PROBE)  # type: ignore[no-untyped-call]
        ran.cells.insert(0, nbformat.v4.new_code_cell(START_PROBE))  # type: ignore[no-untyped-call]
        ran.cells.append(probe)
        self.client.nb = ran
        for index, cell in enumerate(ran.cells):
            if cell.cell_type == "code":
                self.client.execute_cell(cell, index)
        ran.cells = ran.cells[1:-1]
        return outputs_of(ran, "".join(o.get("text", "") for o in probe.outputs))


@pytest.fixture
def kernel(request: pytest.FixtureRequest) -> Iterator[Kernel]:
    from nbclient import NotebookClient

    env = {**os.environ, **FAST, **getattr(request, "param", {})}
    client = NotebookClient(
        nbformat.v4.new_notebook(),  # type: ignore[no-untyped-call]
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    with client.setup_kernel(env=env):
        yield Kernel(client)


def load(name: str) -> Any:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)  # type: ignore[no-untyped-call]


def assert_clean(run: Run) -> None:
    assert run.errors == [], "\n".join(run.errors)
    assert run.stderr == [], "\n".join(run.stderr)


AUTOPILOT = {"DRWLAB_AUTOPILOT": "1"}
BY_HAND = {"DRWLAB_AUTOPILOT": ""}


@pytest.mark.parametrize("kernel", [BY_HAND], indirect=True, ids=["by-hand"])
def test_the_qa2_notebook_run_twice_without_the_autopilot_waits_for_the_person(
    kernel: Kernel,
) -> None:
    first = kernel.run_all(load("03-qa2"))
    second = kernel.run_all(load("03-qa2"))
    assert_clean(first)
    assert_clean(second)
    assert second.verdicts == first.verdicts
    assert second.outlived == [], "the first run's threads outlived it"


THREE_RUNS_OVER_A_MINUTE = {"05-faults"}
"""Notebooks whose three Run Alls take over 60 s here (05: 55.5 and 61.1 s measured)."""


@pytest.mark.parametrize("kernel", [AUTOPILOT], indirect=True, ids=["autopilot"])
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name in THREE_RUNS_OVER_A_MINUTE else name
        for name in NAMES
    ],
)
def test_run_all_again_shows_the_same_notebook_and_checks_only_this_runs_work(
    kernel: Kernel, name: str
) -> None:
    first = kernel.run_all(load(name))
    solved = kernel.run_all(with_solutions(load(name)))
    again = kernel.run_all(load(name))
    for run in (first, solved, again):
        assert_clean(run)
    assert len(first.verdicts) == 2 and all(v.startswith(FAIL_MARK) for v in first.verdicts)
    assert len(solved.verdicts) == 2 and all(v.startswith(PASS_MARK) for v in solved.verdicts)
    assert again.verdicts == first.verdicts, "a check counted an earlier run's work"
    assert again.outlived == [], "the solved run's threads outlived it"
    assert again.docks == first.docks <= 1
