"""The figures the reliability tests measure, kept for the session's summary.

A test records what it measured with the ``figures`` fixture
(``figures.record("load.sqlite", ouss=1000, seconds=...)``). At the end of the
session every figure is written to ``test-artifacts/reliability-figures.json``
and printed in the terminal summary, so a plain ``./dev test`` shows them and
``docs/reliability.md`` can quote them.

This module is a pytest plugin (the repository's ``conftest.py`` loads it), not
a conftest of ``tests/reliability``: ``./dev test`` runs the tests in pytest-xdist
workers, and only the controlling process, which collects nothing, writes the
summary. Each worker hands its figures over in ``workeroutput`` when it ends.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIGURES_FILE_VARIABLE = "DRWLAB_TEST_FIGURES_FILE"
"""Names another file for the figures (the tests of this plugin use it)."""
WORKER_OUTPUT_KEY = "drwlab_reliability_figures"

FIGURES: dict[str, dict[str, Any]] = {}


class Figures:
    """Named groups of measured values."""

    def record(self, name: str, **values: Any) -> None:
        """Keep ``values`` under ``name`` (a later call with the same name adds to it)."""
        FIGURES.setdefault(name, {}).update(values)


@pytest.fixture
def figures() -> Figures:
    """Where a test records the figures it measured."""
    return Figures()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand this worker's figures to the controlling process."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_OUTPUT_KEY] = json.dumps(FIGURES, default=str)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the controlling process: take the figures of a worker that ended."""
    handed_over = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if handed_over:
        for name, values in json.loads(handed_over).items():
            Figures().record(name, **values)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Write the figures to test-artifacts/ and print them (not in a worker)."""
    if not FIGURES or hasattr(config, "workeroutput"):
        return
    default = REPO / "test-artifacts" / "reliability-figures.json"
    figures_file = Path(os.environ.get(FIGURES_FILE_VARIABLE) or default)
    figures_file.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "figures": FIGURES,
    }
    figures_file.write_text(json.dumps(document, indent=2, default=str) + "\n")
    terminalreporter.section("reliability figures")
    for name, values in sorted(FIGURES.items()):
        shown = ", ".join(f"{key}={_format(value)}" for key, value in values.items())
        terminalreporter.write_line(f"{name}: {shown}")
    terminalreporter.write_line(f"(written to {figures_file})")


def _format(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
