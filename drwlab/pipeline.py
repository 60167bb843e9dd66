"""The mock ALMA pipeline, run by the pipeline driver as a subprocess.

Usage::

    python -m drwlab.pipeline PROGID UID EXEC --out DIR [--recipe R] [--time-scale F]
        [--seed N] [--failure-rate P] [--timestamp TS] [--simulate {crash,partial,hang,kill}]

It waits ``uniform(3, 8) * time_scale`` seconds, then fails with probability
``failure_rate`` (a "processing problem"), else writes the seed's products
tree under ``DIR`` (see :mod:`drwlab.products`) and prints one JSON line::

    {"productsDir": ..., "timestamp": ..., "reportPath": ..., "weblogPath": ...}

Exit codes: 0 success; 2 processing problem (message on stderr), as the
original; 64 bad arguments (``EX_USAGE``: argparse's own 2 would read as a
processing problem); 1 an unexpected crash. ``--simulate`` is a test knob for
the driver's fault handling: ``crash`` raises (exit 1, traceback), ``partial``
writes an incomplete tree and still reports success, ``hang`` never ends,
``kill`` dies of SIGKILL.

Only the standard library and light drwlab modules are imported: the driver
starts one of these per OUS, so start-up must stay fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from drwlab.errors import DrwlabError, PipelineFailed
from drwlab.lifecycle import EXECUTIVES
from drwlab.products import (
    PipelineReport,
    ProductsTree,
    QAScore,
    render_report_xml,
)
from drwlab.timeutil import timestamp as now_timestamp
from drwlab.weblog import write_weblog_zip
from drwlab.wire import DEFAULT_FAILURE_RATE

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_PROCESSING_PROBLEM = 2
EXIT_USAGE = 64
SIMULATIONS = ("crash", "partial", "hang", "kill")

MIN_WAIT = 3.0
MAX_WAIT = 8.0

STAGES: tuple[tuple[str, str], ...] = (
    ("hifa_importdata", "Import the measurement sets"),
    ("hifa_flagdata", "Deterministic flagging"),
    ("hifa_fluxcalflag", "Flag spectral features of the flux calibrator"),
    ("hif_rawflagchans", "Flag bad channels in the raw data"),
    ("hifa_tsyscal", "Derive the Tsys calibration"),
    ("hifa_bandpass", "Bandpass calibration"),
    ("hifa_gfluxscale", "Transfer the flux scale"),
    ("hifa_timegaincal", "Time-dependent gain calibration"),
    ("hif_applycal", "Apply the calibrations"),
    ("hif_makeimages", "Make the calibrator images"),
)
"""The stages of the mock run, with their task descriptions."""


LOW_STAGE_RATE = 0.25
"""Share of runs in which one stage went badly (a score of 0.33 or less, or a warning)."""


def _score(rng: random.Random) -> float:
    """A stage that went as planned: mostly optimal, some suboptimal, a rare warning."""
    roll = rng.random()
    if roll < 0.75:
        return round(rng.uniform(0.91, 1.0), 2)
    if roll < 0.98:
        return round(rng.uniform(0.67, 0.9), 2)
    return round(rng.uniform(0.34, 0.66), 2)


def make_report(
    prog_id: str, uid: str, executive: str, recipe: str, timestamp: str, rng: random.Random
) -> PipelineReport:
    """A pipeline report with a random (seeded) QA score per stage.

    About one run in four (``LOW_STAGE_RATE``) has one stage that went badly
    (0.10 to 0.50: an error or a warning) among good ones: the run a QA2
    reviewer must notice, as in real weblogs, where most stages are fine.
    """
    scores = [QAScore(stage=s, name=n, score=_score(rng)) for s, n in STAGES]
    if rng.random() < LOW_STAGE_RATE:
        scores[rng.randrange(len(scores))].score = round(rng.uniform(0.1, 0.5), 2)
    return PipelineReport(uid, prog_id, executive, recipe, timestamp, scores)


def _product_content(tree: ProductsTree, n: int, report: PipelineReport, noise: str) -> bytes:
    lines = [
        f"ALMA mock pipeline data product {n} of {len(tree.data_product_paths)}",
        f"file: {tree.data_product_paths[n].name}",
        f"OUS: {tree.uid}",
        f"project: {tree.prog_id}",
        f"executive: {report.executive}",
        f"recipe: {report.recipe}",
        f"run: {tree.timestamp}",
        f"payload: {noise}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_products(tree: ProductsTree, report: PipelineReport, rng: random.Random) -> None:
    """Write the complete products tree of a successful run."""
    tree.products_path.mkdir(parents=True, exist_ok=True)
    tree.report_path.write_text(render_report_xml(report), encoding="utf-8")
    for n, path in enumerate(tree.data_product_paths):
        path.write_bytes(_product_content(tree, n, report, rng.randbytes(32).hex()))
    write_weblog_zip(tree.weblog_path, report)


def _check_args(executive: str, time_scale: float, failure_rate: float) -> None:
    if executive not in EXECUTIVES:
        raise ValueError(f"unknown executive {executive!r} (one of {', '.join(EXECUTIVES)})")
    if not (math.isfinite(time_scale) and time_scale >= 0):
        raise ValueError(f"time scale must be a finite number >= 0, not {time_scale}")
    if not 0.0 <= failure_rate <= 1.0:
        raise ValueError(f"failure rate must be in 0..1, not {failure_rate}")


def run_pipeline(
    prog_id: str,
    uid: str,
    executive: str,
    out_dir: Path,
    *,
    recipe: str = "PipelineCalibration",
    time_scale: float = 1.0,
    rng: random.Random | None = None,
    failure_rate: float = DEFAULT_FAILURE_RATE,
    timestamp: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ProductsTree:
    """Simulate one pipeline run and return its (complete) products tree.

    Raises:
        PipelineFailed: the simulated processing problem (probability ``failure_rate``).
        InvalidMessage: a malformed project code, uid or timestamp.
        ValueError: an unknown executive, a negative time scale, a rate outside 0..1.
    """
    rng = rng if rng is not None else random.Random()
    _check_args(executive, time_scale, failure_rate)
    tree = ProductsTree(Path(out_dir), prog_id, uid, timestamp or now_timestamp())
    sleep(rng.uniform(MIN_WAIT, MAX_WAIT) * time_scale)
    if rng.random() < failure_rate:
        raise PipelineFailed(f"processing problem: pipeline failed on {uid} ({recipe})")
    report = make_report(prog_id, uid, executive, recipe, tree.timestamp, rng)
    write_products(tree, report, rng)
    return tree


def summary(tree: ProductsTree) -> dict[str, str]:
    """The JSON line printed at the end of a run (paths absolute)."""
    return {
        "productsDir": tree.products_dir,
        "timestamp": tree.timestamp,
        "reportPath": str(tree.report_path.absolute()),
        "weblogPath": str(tree.weblog_path.absolute()),
    }


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m drwlab.pipeline",
        description="Mock ALMA pipeline: wait, then fail (exit 2) or write a products tree.",
        epilog="Exit codes: 0 ok, 1 crash, 2 processing problem, 64 bad arguments.",
    )
    parser.add_argument("prog_id", metavar="PROGID", help="project code, e.g. 2015.1.00657.S")
    parser.add_argument("uid", metavar="UID", help="OUS uid, e.g. uid://X1/X1/Xb2")
    parser.add_argument("executive", metavar="EXEC", choices=EXECUTIVES, help="EA, EU, JAO or NA")
    parser.add_argument("--out", required=True, type=Path, help="directory for the products")
    parser.add_argument("--recipe", default="PipelineCalibration")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies the wait")
    parser.add_argument("--seed", type=int, default=None, help="random seed (reproducible run)")
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=DEFAULT_FAILURE_RATE,
        help=f"0..1 (default {DEFAULT_FAILURE_RATE})",
    )
    parser.add_argument("--timestamp", default=None, help="run timestamp (default: now, UTC)")
    parser.add_argument("--simulate", choices=SIMULATIONS, default=None, help="test knob")
    return parser


def _simulate_fault(what: str | None) -> None:
    """The faults that strike before any product is written."""
    if what == "crash":
        raise RuntimeError("simulated pipeline crash")
    if what == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if what == "hang":
        while True:
            time.sleep(3600)


def _make_partial(tree: ProductsTree) -> None:
    """Remove the weblog and the last data product: a run that lost files."""
    tree.weblog_path.unlink()
    tree.data_product_paths[-1].unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _simulate_fault(args.simulate)
    try:
        tree = run_pipeline(
            args.prog_id,
            args.uid,
            args.executive,
            args.out,
            recipe=args.recipe,
            time_scale=args.time_scale,
            rng=random.Random(args.seed),
            failure_rate=args.failure_rate,
            timestamp=args.timestamp,
        )
    except PipelineFailed as error:
        sys.stderr.write(f"pipeline: {error}\n")
        return EXIT_PROCESSING_PROBLEM
    except (DrwlabError, ValueError) as error:
        parser.error(str(error))
    except OSError as error:
        sys.stderr.write(f"pipeline: cannot write the products under {args.out}: {error}\n")
        return EXIT_CRASH
    if args.simulate == "partial":
        _make_partial(tree)
    sys.stdout.write(json.dumps(summary(tree)) + "\n")
    sys.stdout.flush()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
