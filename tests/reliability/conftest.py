"""Fixtures of the reliability suite, and the figures it measures.

A test records what it measured with the ``figures`` fixture
(``figures.record("load.sqlite", ouss=1000, seconds=...)``). At the end of the
session every figure is written to ``test-artifacts/reliability-figures.json``
and printed in the terminal summary, so a plain ``./dev test`` shows them and
``docs/reliability.md`` can quote them.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.figures import FIGURES, Figures

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
FIGURES_FILE = ARTIFACTS / "reliability-figures.json"


@pytest.fixture
def figures() -> Figures:
    """Where a test records the figures it measured."""
    return Figures()


def _format(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Write the figures to test-artifacts/ and print them."""
    if not FIGURES:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    document = {
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "figures": FIGURES,
    }
    FIGURES_FILE.write_text(json.dumps(document, indent=2, default=str) + "\n")
    terminalreporter.section("reliability figures")
    for name, values in sorted(FIGURES.items()):
        shown = ", ".join(f"{key}={_format(value)}" for key, value in values.items())
        terminalreporter.write_line(f"{name}: {shown}")
    terminalreporter.write_line(f"(written to {FIGURES_FILE.relative_to(REPO)})")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.fixture
def secret_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory beside the one under test, holding a file nobody may serve."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    yield outside
