"""What CI relies on in the suite's own hooks, checked with xdist workers as ``./dev test`` runs.

A skipped test fails the run when ``DRWLAB_NO_SKIPS=1`` (a missing server or
browser must not look green); figures recorded in a worker reach the summary
and the figures file written by the controlling process; the slow tests run
one after the other on one worker, first, while the other takes the rest
(pytest 9.2 silently broke that grouping: see pyproject.toml).
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

GROUPED = """
import os, time
import pytest

def where(name):
    with open(os.environ["WHERE_FILE"], "a") as out:
        out.write(f"{name} {os.environ['PYTEST_XDIST_WORKER']}\\n")

@pytest.mark.slow
def test_slow_one():
    where("slow")
    time.sleep(0.5)

@pytest.mark.slow
def test_slow_two():
    where("slow")
    time.sleep(0.5)

@pytest.mark.parametrize("n", range(6))
def test_fast(n):
    where("fast")
    time.sleep(0.1)
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
    command = [sys.executable, "-m", "pytest", "-p", "conftest", "-n", "2", "--dist", "loadgroup"]
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


def test_slow_tests_run_on_one_worker_first_and_the_rest_on_the_other(tmp_path: Path) -> None:
    where_file = tmp_path / "where.txt"

    done = run_pytest_in_workers(tmp_path, GROUPED, WHERE_FILE=str(where_file))

    assert done.returncode == 0, done.stdout + done.stderr
    ran = [line.split() for line in where_file.read_text().splitlines()]
    slow_workers = {worker for name, worker in ran if name == "slow"}
    assert len(slow_workers) == 1, ran
    assert [name for name, worker in ran if worker in slow_workers][:2] == ["slow", "slow"], ran
    assert {worker for name, worker in ran if name == "fast"} - slow_workers, ran
