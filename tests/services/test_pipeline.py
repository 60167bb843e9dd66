"""The mock pipeline, run as the driver runs it: a real ``python -m drwlab.pipeline`` subprocess."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from drwlab.errors import PipelineFailed
from drwlab.pipeline import EXIT_USAGE, MAX_WAIT, MIN_WAIT, STAGES, make_report, run_pipeline
from drwlab.products import ProductsTree, parse_report
from drwlab.qa import qa_band

PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xa1"
TS = "2018-07-19T07:10:03.781"
REPO = Path(__file__).resolve().parents[2]


def pipeline(
    out: Path, *extra: str, timeout: float = 30, args: tuple[str, ...] = (PROG, UID, "EU")
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "drwlab.pipeline", *args, "--out", str(out), *extra]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False
    )


def succeed(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return pipeline(out, "--time-scale", "0", "--failure-rate", "0", "--timestamp", TS, *extra)


def test_a_successful_run_writes_the_seed_tree_and_says_where(tmp_path: Path) -> None:
    result = succeed(tmp_path, "--seed", "1")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    tree = ProductsTree(tmp_path, PROG, UID, TS)
    tree.check()
    assert summary == {
        "productsDir": "2015.1.00657.S_2018_07_19T07_10_03.781",
        "timestamp": TS,
        "reportPath": str(tree.report_path),
        "weblogPath": str(tree.weblog_path),
    }
    assert sorted(p.name for p in tree.products_path.iterdir()) == sorted(
        p.name for p in tree.all_files
    )
    report = parse_report(tree.report_path.read_text())
    assert (report.ous_uid, report.prog_id, report.executive) == (UID, PROG, "EU")
    assert len(report.scores) >= 5
    with zipfile.ZipFile(tree.weblog_path) as archive:
        assert "index.html" in archive.namelist()
        index = archive.read("index.html").decode()
    assert index.count("<svg") == len(report.scores) == len(STAGES)
    for n, path in enumerate(tree.data_product_paths):
        content = path.read_text()
        assert f"data product {n}" in content and path.name in content
        assert 100 < len(content) < 1000


def test_a_processing_problem_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    result = pipeline(tmp_path, "--time-scale", "0", "--failure-rate", "1")
    assert result.returncode == 2
    assert "processing problem" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_the_same_seed_gives_the_same_outcome_and_scores(tmp_path: Path) -> None:
    outcomes = []
    for attempt in ("a", "b"):
        runs = []
        for seed in range(6):
            out = tmp_path / attempt / str(seed)
            result = pipeline(
                out, "--time-scale", "0", "--failure-rate", "0.5", "--seed", str(seed),
                "--timestamp", TS,
            )  # fmt: skip
            tree = ProductsTree(out, PROG, UID, TS)
            report = tree.report_path.read_text() if result.returncode == 0 else None
            runs.append((result.returncode, report))
        outcomes.append(runs)
    assert outcomes[0] == outcomes[1]
    assert {code for code, _ in outcomes[0]} == {0, 2}  # seeds 0..5 give both outcomes
    reports = [r for _, r in outcomes[0] if r is not None]
    assert len(set(reports)) == len(reports)  # different seeds, different scores


@pytest.mark.parametrize(
    ("args", "extra", "complaint"),
    [
        ((PROG, UID, "XX"), (), "invalid choice"),
        ((PROG, "uid://nope", "EU"), ("--time-scale", "0"), "not an ALMA uid"),
        (("../x", UID, "EU"), ("--time-scale", "0"), "not a project code"),
        ((PROG, UID, "EU"), ("--time-scale", "-1"), "time scale"),
        ((PROG, UID, "EU"), ("--failure-rate", "2"), "failure rate"),
        ((PROG, UID, "EU"), ("--timestamp", "yesterday"), "not a timestamp"),
        ((PROG, UID, "EU"), ("--seed", "x"), "invalid int"),
        ((PROG, UID), (), "required"),
    ],
)
def test_bad_arguments_get_usage_and_exit_64_not_2(
    tmp_path: Path, args: tuple[str, ...], extra: tuple[str, ...], complaint: str
) -> None:
    result = pipeline(tmp_path, *extra, args=args)
    assert result.returncode == EXIT_USAGE == 64
    assert "usage:" in result.stderr and complaint in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_out_is_a_usage_error(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "drwlab.pipeline", PROG, UID, "EU"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 64 and "--out" in result.stderr


def test_an_unwritable_out_dir_is_a_crash_with_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = succeed(blocker / "out")
    assert result.returncode == 1
    assert "cannot write the products" in result.stderr


def test_a_simulated_crash_exits_1_without_products(tmp_path: Path) -> None:
    result = succeed(tmp_path, "--simulate", "crash")
    assert result.returncode == 1
    assert "simulated pipeline crash" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_simulated_partial_tree_reports_success_but_fails_the_check(tmp_path: Path) -> None:
    result = succeed(tmp_path, "--simulate", "partial")
    assert result.returncode == 0
    tree = ProductsTree(tmp_path, PROG, UID, json.loads(result.stdout)["timestamp"])
    with pytest.raises(PipelineFailed, match="2 of 7 files missing"):
        tree.check()


def test_a_simulated_kill_dies_of_sigkill(tmp_path: Path) -> None:
    result = succeed(tmp_path, "--simulate", "kill")
    assert result.returncode == -signal.SIGKILL


def test_a_simulated_hang_runs_until_killed(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "drwlab.pipeline", PROG, UID, "EU", "--out", str(tmp_path)]
    process = subprocess.Popen(
        [*command, "--time-scale", "0", "--simulate", "hang"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=1.0)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL


def test_the_wait_is_3_to_8_seconds_times_the_time_scale(tmp_path: Path) -> None:
    waits: list[float] = []
    for seed in range(20):
        run_pipeline(
            PROG, UID, "EU", tmp_path / str(seed), time_scale=0.5, rng=random.Random(seed),
            failure_rate=0.0, timestamp=TS, sleep=waits.append,
        )  # fmt: skip
    assert all(MIN_WAIT * 0.5 <= w <= MAX_WAIT * 0.5 for w in waits)
    assert len(set(waits)) == 20


def test_scores_spread_like_real_qa_with_some_runs_a_reviewer_must_notice() -> None:
    reports = [make_report(PROG, UID, "EU", "PipelineCalibration", TS, random.Random(seed))
               for seed in range(400)]  # fmt: skip
    stage_bands = Counter(qa_band(s.score).name for r in reports for s in r.scores)
    worst_bands = Counter(qa_band(r.overall).name for r in reports)
    assert set(stage_bands) == {"optimal", "suboptimal", "warning", "error"}
    assert stage_bands["optimal"] > 0.6 * sum(stage_bands.values())  # most stages are fine
    noticed = worst_bands["warning"] + worst_bands["error"]
    assert 0.25 * len(reports) <= noticed <= 0.55 * len(reports)
    assert 0.08 * len(reports) <= worst_bands["error"] <= 0.3 * len(reports)
    lowest = [sorted(s.score for s in r.scores) for r in reports if r.overall <= 0.33]
    assert all(scores[1] > 0.33 for scores in lowest)  # one bad stage among good ones


def test_about_one_run_in_ten_fails_by_default(tmp_path: Path) -> None:
    rng = random.Random(42)
    failures = 0
    for _ in range(400):
        try:
            run_pipeline(PROG, UID, "EU", tmp_path, time_scale=0, rng=rng, timestamp=TS)
        except PipelineFailed:
            failures += 1
    assert 20 <= failures <= 60


def test_the_pipeline_starts_without_heavy_imports() -> None:
    code = (
        "import sys, drwlab.pipeline; "
        "print(sorted(m for m in ('pandas', 'requests', 'ipywidgets') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
