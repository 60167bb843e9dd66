"""The notebooks' exercises: what each asks, its check, and where its solution is.

Run All must never solve an exercise for the reader, so solutions are not
cells: each is a file ``notebooks/solutions/<exercise>.py``, and the exercise
cell holds only ``# %load solutions/<exercise>.py`` (:func:`load_line`), which
the reader uncomments to load the code into the cell, to read before running
(the convention of dask-tutorial and scikit-learn's tutorials).

A check reads what the reader did, in the sandbox and in the notebook's
variables, and shows one line, ``✔ ...`` or ``✘ ...: not yet: <exactly what is
missing>``; it returns None, so nothing is echoed under it::

    from drwlab import exercises
    exercises.check("03-decide-twice")        # the notebook's variables, from IPython
    exercises.check("03-decide-twice", globals())

While something the reader started is still on its way (messages being
handled, a pipeline running) the check waits for it, up to ``patience``
seconds, instead of failing a correct answer. Nothing here imports IPython
until :func:`check` is called without a namespace.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drwlab.exercises import (
    actor_exercises,
    bus_exercises,
    delivery_exercises,
    fault_exercises,
    pipeline_exercises,
    qa2_exercises,
)
from drwlab.exercises.check import Check, missing
from drwlab.exercises.context import NoSandbox, sandbox_in
from drwlab.exercises.pipeline_exercises import add_failing_driver

__all__ = ["EXERCISES", "Check", "Exercise", "add_failing_driver", "check", "evaluate",
           "load_line", "solution_path"]  # fmt: skip

log = logging.getLogger(__name__)

SOLUTIONS_DIR = "solutions"
"""The solutions' folder, next to the notebooks."""
PATIENCE = 60.0
"""Seconds a check waits at most for what the reader started to settle."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its check and what it reads."""

    name: str
    notebook: str
    title: str
    evaluate: Callable[[Mapping[str, Any]], Check]
    watches: str
    """The database whose changes may settle a pending check."""
    needs: tuple[str, ...] = ("sb",)
    """The notebook's names its solution file uses (defined by cells above it)."""


EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        Exercise("01-competing-listeners", "01-bus", "Three competing listeners",
                 bus_exercises.competing_listeners, "msgq", ("sb", "bus")),
        Exercise("01-flaky-handler", "01-bus", "A handler that fails once",
                 bus_exercises.flaky_handler, "msgq", ("sb", "bus")),
        Exercise("02-jao-products", "02-pipeline", "What did JAO receive?",
                 pipeline_exercises.jao_products, "msgq"),
        Exercise("02-always-failing", "02-pipeline", "A pipeline that always fails",
                 pipeline_exercises.always_failing, "status-entities"),
        Exercise("03-cancel-then-fail", "03-qa2", "Cancel a review, then fail it",
                 qa2_exercises.cancel_then_fail, "status-entities"),
        Exercise("03-decide-twice", "03-qa2", "Decide twice",
                 qa2_exercises.decide_twice, "status-entities"),
        Exercise("04-semipass-delivery", "04-delivery", "Deliver a semi-passed OUS",
                 delivery_exercises.semipass_delivery, "status-entities",
                 ("sb", "nb")),
        Exercise("04-metadata-ids", "04-delivery", "Metadata versus delivery status",
                 delivery_exercises.metadata_ids, "delivery-status"),
        Exercise("05-requeue-dead-letter", "05-faults", "Fix the cause, re-queue the dead letter",
                 fault_exercises.requeue_dead_letter, "msgq", ("sb", "requeue", "ingested")),
        Exercise("05-crash-the-survivor", "05-faults", "Crash the surviving driver yourself",
                 fault_exercises.crash_the_survivor, "msgq", ("sb", "PROJECT")),
        Exercise("06-redelivery", "06-your-actor", "A redelivered request is a duplicate",
                 actor_exercises.redelivery, "status-entities", ("sb", "ShortestQueue")),
        Exercise("06-your-rule", "06-your-actor", "Your own QA2 rule",
                 actor_exercises.qa2_rule, "status-entities"),
    )
}  # fmt: skip
"""Every exercise, by name, in notebook order."""


def _exercise(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise {name!r}; exercises: {', '.join(EXERCISES)}") from None


def solution_path(name: str, notebooks_dir: Path | str) -> Path:
    """Where the solution of exercise ``name`` is: ``<notebooks>/solutions/<name>.py``."""
    return Path(notebooks_dir) / SOLUTIONS_DIR / f"{_exercise(name).name}.py"


def load_line(name: str) -> str:
    """The exercise cell's one line: ``# %load solutions/<name>.py`` (for the reader to
    uncomment; commented, Run All leaves it alone)."""
    return f"# %load {SOLUTIONS_DIR}/{_exercise(name).name}.py"


def evaluate(name: str, namespace: Mapping[str, Any], patience: float = 0.0) -> Check:
    """The Check of exercise ``name`` on what ``namespace`` (the notebook's variables) and
    its sandbox hold, waiting up to ``patience`` s while it is pending."""
    exercise = _exercise(name)
    deadline = time.monotonic() + patience
    while True:
        try:
            sandbox = sandbox_in(namespace)
            seq = sandbox.store.current_seq(exercise.watches)
            result = exercise.evaluate(namespace)
        except NoSandbox as error:
            return missing(exercise.name, str(error))
        remaining = deadline - time.monotonic()
        if not result.pending or remaining <= 0:
            return result
        # woken by a change, or every half second for what changes files only (caches)
        sandbox.store.wait_for_change(exercise.watches, seq, min(remaining, 0.5))


def _notebook_namespace() -> Mapping[str, Any]:
    """The variables of the running IPython kernel's notebook."""
    from IPython import get_ipython  # only in a kernel: this module must import without it

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("not in a notebook: pass the namespace, e.g. check(name, globals())")
    return shell.user_ns  # type: ignore[no-any-return]


def check(
    name: str, namespace: Mapping[str, Any] | None = None, patience: float = PATIENCE
) -> None:
    """Show the one-line verdict of exercise ``name`` (✔ or ✘ with what is missing)."""
    result = evaluate(name, _notebook_namespace() if namespace is None else namespace, patience)
    log.info("exercise %s: %s", name, "passed" if result.passed else result.message)
    sys.stdout.write(result.line + "\n")  # the notebook's output: one line, no return value
