"""Documents in the wire format, written straight into a store (no actors involved).

The view tests build their data with these helpers, so they check the views
against the format the actors write (docs/HELPERS-BRIEF.md, DESIGN.md), not
against whatever the actors happen to do today.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from drwlab.lifecycle import State, Substate
from drwlab.products import PipelineReport, QAScore, render_report_xml
from drwlab.store.base import Doc, Store
from drwlab.timeutil import filename_timestamp, format_timestamp
from drwlab.uids import uid_to_dashed, uid_to_doc_id
from drwlab.wire import NGAS_DB, REPORTS_DB, STATUS_DB

PROG_ID = "2015.1.00657.S"
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

DELIVERED_PATH: tuple[State | tuple[State, Substate], ...] = (
    State.READY_FOR_PROCESSING,
    State.PROCESSING,
    State.READY_FOR_REVIEW,
    State.REVIEWING,
    State.VERIFIED,
    (State.DELIVERY_IN_PROGRESS, Substate.INGESTION_TRIGGERED),
    (State.DELIVERY_IN_PROGRESS, Substate.PRODUCTS_INGESTED),
    State.DELIVERED,
)
PROBLEM_PATH = (State.READY_FOR_PROCESSING, State.PROCESSING, State.PROCESSING_PROBLEM)


def ts(seconds: float) -> str:
    """The wire timestamp ``seconds`` after T0."""
    return format_timestamp(T0 + timedelta(seconds=seconds))


def status_doc(
    uid: str,
    path: Sequence[State | tuple[State, Substate]],
    *,
    start: float = 0.0,
    step: float = 2.0,
    executive: str | None = "EU",
    problem: str | None = None,
) -> Doc:
    """A status entity that walked ``path``, one entry every ``step`` seconds from ``start``."""
    history = []
    for i, stage in enumerate(path):
        state, substate = stage if isinstance(stage, tuple) else (stage, None)
        entry: dict[str, Any] = {
            "state": state.value,
            "substate": substate.value if substate else None,
            "timestamp": ts(start + i * step),
            "actor": "test",
        }
        if state is State.PROCESSING_PROBLEM and problem:
            entry["reason"] = problem
        history.append(entry)
    last = history[-1]
    doc: Doc = {
        "_id": uid_to_doc_id(uid) if uid.startswith("uid://") else uid,
        "entityId": uid,
        "progID": PROG_ID,
        "state": last["state"],
        "substate": last["substate"],
        "flags": {"PL_PROCESSING_EXECUTIVE": executive} if executive else {},
        "pipeline-recipe": "PipelineCalibration",
        "timestamp": last["timestamp"],
        "history": history,
    }
    if problem:
        doc["problem"] = problem
    return doc


def report_doc(uid: str, when: str, scores: Sequence[float] = (0.95, 0.7, 0.4)) -> Doc:
    """A pipeline-reports document whose base64 report carries ``scores``."""
    report = PipelineReport(
        uid,
        PROG_ID,
        "EU",
        "PipelineCalibration",
        when,
        [QAScore(f"stage{i}", f"Stage {i}", s) for i, s in enumerate(scores)],
    )
    xml_text = render_report_xml(report)
    return {
        "ousUID": uid,
        "source": "EU",
        "report": base64.b64encode(xml_text.encode()).decode(),
        "timestamp": when,
        "productsDir": f"{PROG_ID}_{filename_timestamp(when)}",
    }


def product_names(uid: str, when: str, count: int = 2) -> list[str]:
    """Data product file names of one run."""
    suffix = f"{uid_to_dashed(uid)}-{filename_timestamp(when)}"
    return [f"product-{n}-{suffix}.data" for n in range(count)]


def delivered_ous(store: Store, uid: str, *, start: float = 0.0, products: int = 2) -> None:
    """An OUS that went all the way: status, pipeline report, NGAS, metadata, delivery."""
    store.put(STATUS_DB, status_doc(uid, DELIVERED_PATH, start=start))
    when = ts(start + 3)
    store.put(REPORTS_DB, report_doc(uid, when))
    names = product_names(uid, when, products)
    store.bulk_put(NGAS_DB, [ngas_doc(name, uid, when) for name in names])
    store.bulk_put(
        "products-metadata",
        [
            {"_id": n, "productID": n, "ousUID": uid, "progID": PROG_ID, "timestamp": when}
            for n in names
        ],
    )
    store.put(
        "delivery-status",
        {
            "_id": f"{uid_to_doc_id(uid)}-{filename_timestamp(when)}",
            "ousUID": uid,
            "progID": PROG_ID,
            "timestamp": when,
            "productsDir": f"{PROG_ID}_{filename_timestamp(when)}",
            "dataProducts": names,
            "complete": True,
        },
    )


def ngas_doc(name: str, uid: str, when: str) -> Doc:
    """An NGAS file document with some contents."""
    contents = base64.b64encode(b"x" * 1000).decode()
    return {
        "_id": name,
        "fileId": name,
        "encodedContents": contents,
        "writeTimestamp": when,
        "ousUID": uid,
        "size": 1000,
    }


def message(
    selector: str,
    body: Any,
    *,
    at: float,
    sender: str | None = None,
    handled_by: str | None = None,
    state: str | None = None,
    msgback: str | None = None,
    error: Any = None,
    attempts: int = 0,
) -> Doc:
    """A msgq document; handled ones are consumed and done unless ``state`` says otherwise."""
    doc: Doc = {
        "_id": f"{ts(at)}-{selector}-{abs(hash((selector, at))) % 10**8:08d}",
        "selector": selector,
        "consumed": handled_by is not None or state in ("claimed", "dead"),
        "creationTimestamp": ts(at),
        "body": body,
        "state": state or ("done" if handled_by else "pending"),
        "attempts": attempts,
    }
    if sender:
        doc["sender"] = sender
    if handled_by:
        doc["handledBy"] = handled_by
        doc["handledTimestamp"] = ts(at + 0.5)
    if msgback:
        doc["msgbackID"] = msgback
    if error is not None:
        doc["error"] = error
    return doc
