"""Benchmark of the views: dashboard snapshot and page, and the HTML report, for 1,000 OUSs.

    .venv/bin/python bench/render.py [--backend sqlite|couchdb|all] [--ous N] [--runs R]
                                     [--json FILE]

Fills a fresh store with N OUS histories (9 in 10 delivered, 1 in 10 in
ProcessingProblem) and their documents in the wire format, written with
``bulk_put``: status entity with history, pipeline report (base64 XML with
ten QA scores), five data products and a weblog in NGAS (with contents),
products metadata, delivery status, and a dozen handled messages. Then
times, median of R runs:

- ``snapshot``: ``tables.snapshot(store)`` (what ``/api/snapshot`` and a re-render read);
- ``dashboard``: what the server does on a change: snapshot + fragments + page;
- ``report``: ``render_report(store)``, the whole self-contained file.

The CouchDB side uses ``DRWLAB_TEST_COUCHDB_URL`` when set, else starts the
project's pouchdb-server on a free loopback port (as the tests do). Prints a
table, then the figures as JSON. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drwlab.lifecycle import State  # noqa: E402
from drwlab.pipeline import STAGES  # noqa: E402
from drwlab.products import PipelineReport, QAScore, render_report_xml  # noqa: E402
from drwlab.store import Store, open_store, sqlite_url  # noqa: E402
from drwlab.timeutil import filename_timestamp, format_timestamp  # noqa: E402
from drwlab.uids import uid_to_dashed, uid_to_doc_id  # noqa: E402
from drwlab.views.dashboard import ROW_LIMIT, page_html  # noqa: E402
from drwlab.views.html import fragments  # noqa: E402
from drwlab.views.report import render_report  # noqa: E402
from drwlab.views.tables import snapshot  # noqa: E402

Figures = dict[str, Any]
PROG = "2015.1.00657.S"
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
DELIVERED = [
    (State.READY_FOR_PROCESSING, None),
    (State.PROCESSING, None),
    (State.READY_FOR_REVIEW, None),
    (State.REVIEWING, None),
    (State.VERIFIED, None),
    (State.DELIVERY_IN_PROGRESS, "IngestionTriggered"),
    (State.DELIVERY_IN_PROGRESS, "AnalyzingProducts"),
    (State.DELIVERY_IN_PROGRESS, "IngestingProducts"),
    (State.DELIVERY_IN_PROGRESS, "ProductsIngested"),
    (State.DELIVERED, None),
]
PROBLEM = [(State.READY_FOR_PROCESSING, None), (State.PROCESSING, None)]
PROBLEM += [(State.PROCESSING_PROBLEM, None)]
SELECTORS = ("pipeline.process.EU", "xtss", "cached.JAO", "cached.EU", "pipeline.report.JAO")
SELECTORS += ("ingest.JAO", "xtss", "xtss", "xtss", "xtss", "xtss", "xtss")


def ts(seconds: float) -> str:
    return format_timestamp(T0 + timedelta(seconds=seconds))


def status(uid: str, n: int, start: float) -> dict[str, Any]:
    path = PROBLEM if n % 10 == 9 else DELIVERED
    history = [
        {"state": s.value, "substate": sub, "timestamp": ts(start + i * 3), "actor": "bench"}
        for i, (s, sub) in enumerate(path)
    ]
    return {
        "_id": uid_to_doc_id(uid),
        "entityId": uid,
        "progID": PROG,
        "state": history[-1]["state"],
        "substate": history[-1]["substate"],
        "flags": {"PL_PROCESSING_EXECUTIVE": "EU"},
        "pipeline-recipe": "PipelineCalibration",
        "timestamp": history[-1]["timestamp"],
        "history": history,
        **({"problem": "mock pipeline failed"} if path is PROBLEM else {}),
    }


def run_docs(uid: str, n: int, when: str) -> dict[str, list[dict[str, Any]]]:
    """The pipeline report, NGAS files, metadata and delivery status of one run."""
    scores = [
        QAScore(s, name, 0.5 + ((n * 7 + i) % 50) / 100) for i, (s, name) in enumerate(STAGES)
    ]
    xml = render_report_xml(PipelineReport(uid, PROG, "EU", "PipelineCalibration", when, scores))
    suffix = f"{uid_to_dashed(uid)}-{filename_timestamp(when)}"
    products = [f"product-{i}-{suffix}.data" for i in range(5)]
    contents = base64.b64encode(b"mock data product\n" * 16).decode()
    ngas = [
        {"_id": f, "fileId": f, "encodedContents": contents, "writeTimestamp": when}
        | {"ousUID": uid, "size": 288}
        for f in [*products, f"weblog-{suffix}.zip"]
    ]
    return {
        "pipeline-reports": [
            {"ousUID": uid, "source": "EU", "report": base64.b64encode(xml.encode()).decode()}
            | {"timestamp": when, "productsDir": f"{PROG}_{filename_timestamp(when)}"}
        ],
        "ngas": ngas,
        "products-metadata": [
            {"_id": f, "productID": f, "ousUID": uid, "progID": PROG, "timestamp": when}
            for f in products
        ],
        "delivery-status": [
            {"_id": f"{uid_to_doc_id(uid)}-{filename_timestamp(when)}", "ousUID": uid}
            | {"progID": PROG, "timestamp": when, "dataProducts": products, "complete": True}
        ],
    }


def messages(uid: str, n: int, start: float) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"{ts(start + i)}-{n:06d}-{i:02d}",
            "selector": selector,
            "consumed": True,
            "creationTimestamp": ts(start + i),
            "body": {"ousUID": uid, "operation": "set-state", "value": "Processing"},
            "state": "done",
            "attempts": 1,
            "sender": "bench",
            "handledBy": f"{selector}-1@bench:1",
            "handledTimestamp": ts(start + i + 0.5),
        }
        for i, selector in enumerate(SELECTORS)
    ]


def fill(store: Store, count: int) -> Figures:
    """Write ``count`` OUSs with bulk_put; returns how many documents and how long it took."""
    started = time.perf_counter()
    batches: dict[str, list[dict[str, Any]]] = {}
    for n in range(count):
        uid = f"uid://X1/X{n // 100 + 1}/Xa{n % 100}"
        start = n * 2.0
        batches.setdefault("status-entities", []).append(status(uid, n, start))
        batches.setdefault("msgq", []).extend(messages(uid, n, start))
        if n % 10 != 9:
            for db, docs in run_docs(uid, n, ts(start + 6)).items():
                batches.setdefault(db, []).extend(docs)
    written = 0
    for db, docs in batches.items():
        for i in range(0, len(docs), 500):
            results = store.bulk_put(db, docs[i : i + 500])
            errors = [r for r in results if r.error]
            if errors:
                raise RuntimeError(f"bulk_put into {db} failed: {errors[0]}")
            written += len(results)
    return {"documents": written, "fill_s": round(time.perf_counter() - started, 2)}


def median_time(action: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median wall time and median CPU time of this process (other load does not count)."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = action()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return round(statistics.median(times), 3), round(statistics.median(cpu), 3), result


def dashboard_page(store: Store) -> str:
    snap = snapshot(store)
    return page_html("bench", None, fragments(snap, limit=ROW_LIMIT))


def measure(store: Store, count: int, runs: int) -> Figures:
    figures = fill(store, count)
    figures["ous"] = count
    figures["snapshot_s"], figures["snapshot_cpu_s"], _ = median_time(lambda: snapshot(store), runs)
    figures["dashboard_s"], figures["dashboard_cpu_s"], page = median_time(
        lambda: dashboard_page(store), runs
    )
    figures["report_s"], figures["report_cpu_s"], report = median_time(
        lambda: render_report(store), runs
    )
    figures["page_kb"] = round(len(page.encode()) / 1024)
    figures["report_kb"] = round(len(report.encode()) / 1024)
    return figures


@contextmanager
def backend_store(name: str) -> Iterator[Store]:
    if name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp, open_store(sqlite_url(Path(tmp) / "b.db")) as s:
            yield s
        return
    from tests.servers import start_couch_server

    server = start_couch_server()
    try:
        server.drop_all_databases()
        with open_store(server.url) as store:
            yield store
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "couchdb", "all"], default="all")
    parser.add_argument("--ous", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    backends = ["sqlite", "couchdb"] if args.backend == "all" else [args.backend]
    results: dict[str, Figures] = {}
    for name in backends:
        with backend_store(name) as store:
            results[name] = measure(store, args.ous, args.runs)
    keys = ["ous", "documents", "fill_s", "snapshot_s", "snapshot_cpu_s", "dashboard_s"]
    keys += ["dashboard_cpu_s", "report_s", "report_cpu_s", "page_kb", "report_kb"]
    print(f"{'figure':<14}" + "".join(f"{name:>12}" for name in results))
    for key in keys:
        print(f"{key:<14}" + "".join(f"{results[n][key]:>12}" for n in results))
    text = json.dumps({"render": results}, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
