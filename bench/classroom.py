"""How many learners one pouchdb-server holds: N learner sandboxes, each alone in a namespace.

    .venv/bin/python bench/classroom.py [--learners 5 10 20] [--idle 20] [--json FILE]

Starts the project's pouchdb-server (``tests/servers.py``; ``DRWLAB_TEST_COUCHDB_URL``
for another server) and, for each N, N learner processes at once. Each learner is a
notebook kernel doing what notebook 03 does, at the notebooks' default timings (no
``DRWLAB_TIME_SCALE``, no autopilot): ``nb.start_sandbox`` with ``DRWLAB_STORE`` set to
the server (a fresh namespace of its own), the live map, board, QA2 panel and sequence
following the store, three OUSs launched, waited for in ReadyForReview with their
weblogs at JAO, one semi-passed by code, then the learner's own OUS reviewed and passed
through ``sb.qa2`` (what the panel's buttons call), and waited for in Delivered.

Measured per N:

- the server's CPU (from /proc, % of one core) and the requests per second all learners
  sent (counted in each learner by ``bench/traffic.py``), from the first start to the
  last delivery (``busy``) and then for ``--idle`` seconds with every sandbox still
  running and nobody acting (``idle``: what a classroom costs between two clicks);
- QA2 click to Delivered and launch to ReadyForReview, median and p90 over the learners.

Every learner's namespace is dropped as its sandbox stops; the server's own data
directory goes at the end. The machine is shared: note its load with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.across_hosts import process_cpu  # noqa: E402
from drwlab.errors import DrwlabError  # noqa: E402
from drwlab.sandbox import Sandbox  # noqa: E402
from tests.servers import CouchServer, start_couch_server  # noqa: E402

PROG = "2015.1.00657.S"
YOURS, BY_CODE, EXERCISE = "uid://X1/X1/Xb0", "uid://X1/X1/Xb1", "uid://X1/X1/Xb2"
LEARNER_TIMEOUT = 900.0
"""Seconds a learner may take from its start to its OUS Delivered, however loaded."""


# -- one learner (a child process) ----------------------------------------------------
def learner(seed: int) -> None:
    """Notebook 03's path, then idle until stdin says ``count`` (print the requests sent so
    far) or closes (stop the sandbox, dropping the namespace)."""
    from bench.traffic import Traffic
    from drwlab import notebook as nb

    traffic = Traffic()
    with traffic.recording():
        namespace = ""
        try:
            # warnings reach stderr (a namespace it could not drop, say): the bench's log
            sb = nb.start_sandbox(seed=seed, failure_rate=0.0, quiet=False)
            namespace = sb.store_url.rpartition("=")[2]
            timings: dict[str, Any] = _notebook_03(sb)
        except (DrwlabError, TimeoutError) as error:  # a server too slow to answer, say
            timings = {"error": f"{type(error).__name__}: {error}"}
        _say(event="delivered", namespace=namespace, **timings)
        for line in sys.stdin:
            if line.strip() == "count":
                counts = {
                    f"{actor} {route.replace(namespace + '-', '')}": n
                    for (actor, route), n in traffic.requests.items()
                }
                _say(event="count", requests=counts)
        nb.stop_sandbox()


def _notebook_03(sb: Sandbox) -> dict[str, float]:
    """What notebook 03 does, the learner's click included; its timings."""
    from drwlab import notebook as nb

    started = time.monotonic()
    for uid in (YOURS, BY_CODE, EXERCISE):
        sb.launch(PROG, uid)
    views = [nb.system_map(sb, highlight="Reviewing"), nb.live_board(sb), nb.qa2_panel(sb)]
    views.append(nb.live_sequence(sb, BY_CODE))
    for uid in (YOURS, BY_CODE, EXERCISE):
        sb.wait_for(uid, "ReadyForReview", timeout=LEARNER_TIMEOUT)
        nb.wait_for_weblog(sb, uid, timeout=LEARNER_TIMEOUT)
    ready = time.monotonic()
    sb.qa2.review(BY_CODE)
    sb.qa2.decide(BY_CODE, "SemiPass")
    clicked = time.monotonic()
    sb.qa2.review(YOURS)
    sb.qa2.decide(YOURS, "Pass")
    sb.wait_for(YOURS, "Delivered", timeout=LEARNER_TIMEOUT)
    return {"launch_to_review": ready - started, "click_to_delivered": time.monotonic() - clicked}


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


# -- the classroom (the parent) -------------------------------------------------------
class Classroom:
    """N learner processes on the server at ``url``."""

    def __init__(self, url: str, n: int) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DRWLAB_TIME_SCALE", "DRWLAB_AUTOPILOT")
        }
        env.update(DRWLAB_STORE=url, PYTHONPATH=str(ROOT))
        self.processes = [
            subprocess.Popen(
                [sys.executable, __file__, "--learner", str(seed)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                text=True,
            )
            for seed in range(1, n + 1)
        ]

    def read_all(self, event: str) -> list[dict[str, Any]]:
        """The next line of every learner, which must be ``event``."""
        answers = []
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"a learner ended before {event!r} (exit {process.wait()})")
            answer = json.loads(line)
            assert answer["event"] == event, answer
            answers.append(answer)
        return answers

    def requests(self) -> Counter[str]:
        """Requests sent so far by all learners, by ``actor route``."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("count\n")
            process.stdin.flush()
        total: Counter[str] = Counter()
        for answer in self.read_all("count"):
            total.update(answer["requests"])
        return total

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            process.wait(timeout=120)
            if process.stdout is not None:
                process.stdout.close()


class CpuSampler:
    """The server's CPU (% of one core) over each ``every`` seconds, until ``stop``; and how
    long the server took to answer a ``GET /`` at each sample (``answers``; 60 s: none)."""

    def __init__(self, pid: int, url: str, every: float = 5.0) -> None:
        self._pid, self._url, self._every = pid, url, every
        self._done = threading.Event()
        self._samples: list[float] = []
        self.answers: list[float] = []
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cpu, at = process_cpu(self._pid), time.monotonic()
        while not self._done.wait(self._every):
            now_cpu, now = process_cpu(self._pid), time.monotonic()
            self._samples.append(100 * (now_cpu - cpu) / (now - at))
            self.answers.append(_answer_time(self._url))
            cpu, at = process_cpu(self._pid), time.monotonic()

    def stop(self) -> list[float]:
        self._done.set()
        self._thread.join()
        return self._samples


def _answer_time(url: str) -> float:
    started = time.monotonic()
    try:
        requests.get(url, timeout=60).raise_for_status()
    except requests.RequestException:
        return 60.0
    return time.monotonic() - started


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(server: CouchServer, pid: int, n: int, idle: float) -> dict[str, Any]:
    """One classroom of ``n`` learners: busy and idle server CPU and requests, latencies."""
    load_before = _load()
    cpu0, t0 = process_cpu(pid), time.monotonic()
    classroom = Classroom(server.url, n)
    sampler = CpuSampler(pid, server.url)
    try:
        delivered = classroom.read_all("delivered")
        cpu1, t1 = process_cpu(pid), time.monotonic()
        busy_samples = sampler.stop()
        busy = classroom.requests()
        time.sleep(idle)
        cpu2, t2 = process_cpu(pid), time.monotonic()
        idle_requests = classroom.requests() - busy
    finally:
        classroom.close()
    done = [answer for answer in delivered if "error" not in answer]
    clicks = [answer["click_to_delivered"] for answer in done] or [float("nan")]
    reviews = [answer["launch_to_review"] for answer in done] or [float("nan")]
    return {
        "learners": n,
        "namespaces": len({answer["namespace"] for answer in delivered}),
        "failed": sorted({answer["error"][:120] for answer in delivered if "error" in answer}),
        "failed_learners": n - len(done),
        "busy_server_cpu_percent_peak_5s": round(max(busy_samples, default=0.0), 1),
        "busy_server_answer_seconds_median_max": [
            round(statistics.median(sampler.answers or [0.0]), 2),
            round(max(sampler.answers, default=0.0), 2),
        ],
        "busy_seconds": round(t1 - t0, 1),
        "busy_server_cpu_percent": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "busy_requests_per_second": round(busy.total() / (t1 - t0), 1),
        "idle_server_cpu_percent": round(100 * (cpu2 - cpu1) / (t2 - t1), 1),
        "idle_requests_per_second": round(idle_requests.total() / (t2 - t1), 1),
        "idle_requests_per_second_by_actor_route": {
            name: round(count / (t2 - t1), 2) for name, count in idle_requests.most_common(6)
        },
        "click_to_delivered_median": round(statistics.median(clicks), 1),
        "click_to_delivered_p90": round(_percentile(clicks, 0.9), 1),
        "launch_to_review_median": round(statistics.median(reviews), 1),
        "launch_to_review_p90": round(_percentile(reviews, 0.9), 1),
        "load_average_before": load_before,
        "load_average_after": _load(),
        "databases_left": _databases_left(server),
    }


def _databases_left(server: CouchServer) -> list[str] | str:
    """The databases left on the server once every learner has stopped (none expected)."""
    try:
        return sorted(server.database_names())
    except requests.RequestException as error:
        return f"the server did not answer: {type(error).__name__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of the idle window")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--learner", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.learner is not None:
        learner(args.learner)
        return 0
    server = start_couch_server()
    if not server.is_ours:
        raise SystemExit("the server's CPU is read from /proc: run without DRWLAB_TEST_COUCHDB_URL")
    assert server._process is not None
    figures = []
    try:
        for n in args.learners:
            result = measure(server, server._process.pid, n, args.idle)
            print(json.dumps(result), flush=True)
            figures.append(result)
    finally:
        server.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
