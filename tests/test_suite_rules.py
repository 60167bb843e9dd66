"""What CI relies on in the suite's own hooks, checked with xdist workers as ``./dev test`` runs.

A skipped test fails the run when ``DRWLAB_NO_SKIPS=1`` (a missing server or
browser must not look green), and figures recorded in a worker reach the
summary and the figures file written by the controlling process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MEASURES = """
def test_measures(figures):
    figures.record("sample.worker", value=3)
"""

SKIPS = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no server here")
"""


def run_pytest_in_workers(
    tmp_path: Path, source: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a test file in two xdist workers, with this repository's hooks."""
    test_file = tmp_path / "test_sample.py"
    test_file.write_text(source)
    command = [sys.executable, "-m", "pytest", "-p", "conftest", "-n", "2"]
    command += ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test_file)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DRWLAB_", "PYTEST_"))}
    environment["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        command,
        cwd=REPO,
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skip_in_a_worker_fails_the_run_when_no_skips_are_allowed(tmp_path: Path) -> None:
    allowed = run_pytest_in_workers(tmp_path, SKIPS)
    refused = run_pytest_in_workers(tmp_path, SKIPS, DRWLAB_NO_SKIPS="1")

    assert allowed.returncode == 0, allowed.stdout
    assert "1 passed, 1 skipped" in allowed.stdout
    assert refused.returncode == 1, refused.stdout
    assert "DRWLAB_NO_SKIPS: 1 test(s) skipped" in refused.stdout


def test_figures_measured_in_a_worker_reach_the_summary_and_the_file(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"

    done = run_pytest_in_workers(tmp_path, MEASURES, DRWLAB_TEST_FIGURES_FILE=str(figures_file))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "sample.worker: value=3" in done.stdout
    assert json.loads(figures_file.read_text())["figures"] == {"sample.worker": {"value": 3}}
