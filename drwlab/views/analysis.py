"""Read models beyond the tables: durations, failures, transitions, timelines, message sequences.

Pure functions from tables (``views.tables``) or store documents to plain data
that the renderers draw: no HTML, no threads. What counts as a failure is
read from the life-cycle table (``lifecycle.FAILURES``).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from drwlab.lifecycle import FAILURES, FINAL_STATES, State
from drwlab.store.base import Doc, Store
from drwlab.timeutil import parse_timestamp
from drwlab.uids import is_uid, uid_to_dashed
from drwlab.views.cells import describe_error, summarize_body
from drwlab.views.tables import Snapshot, frame
from drwlab.wire import MSGQ

_FINAL_NAMES = {s.value for s in FINAL_STATES}
_FAILURES = {(source.value, target.value): name for (source, target), name in FAILURES.items()}
_INSTANCE = re.compile(r"-\d+$")  # a listener's instance number: xtss-1, xtss-2

# -- state history: timelines, transitions, durations, failures ------------------------


def moment(text: str) -> datetime:
    """A wire timestamp as aware UTC (the naive wire format fast, anything else as timeutil)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return parse_timestamp(text)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else parse_timestamp(text)


@dataclass(frozen=True)
class Segment:
    """An OUS in one state from ``start`` to ``stop``."""

    uid: str
    state: str
    substates: tuple[str, ...]
    start: datetime
    stop: datetime


def segments(history: pd.DataFrame, end: datetime | None = None) -> dict[str, list[Segment]]:
    """uid -> its segments, uids in launch order; the last segment of each runs to ``end``."""
    entries: dict[str, list[tuple[str, str | None, datetime]]] = {}
    for uid, state, substate, when in zip(
        history["uid"], history["state"], history["substate"], history["timestamp"], strict=True
    ):
        if uid is None or when is None:
            continue
        sub = substate if isinstance(substate, str) else None
        entries.setdefault(str(uid), []).append((str(state), sub, moment(str(when))))
    if not entries:
        return {}
    last = max(moment for rows in entries.values() for _, _, moment in rows)
    end = max(end, last) if end is not None else last
    order = sorted(entries, key=lambda uid: (entries[uid][0][2], uid))
    return {uid: _merge(uid, entries[uid], end) for uid in order}


def _merge(uid: str, rows: list[tuple[str, str | None, datetime]], end: datetime) -> list[Segment]:
    merged: list[Segment] = []
    for index, (state, substate, start) in enumerate(rows):
        stop = rows[index + 1][2] if index + 1 < len(rows) else end
        subs = (substate,) if substate else ()
        if merged and merged[-1].state == state:
            prev = merged[-1]
            if prev.substates[-1:] == subs:
                subs = ()  # the same substate written again
            merged[-1] = Segment(uid, state, prev.substates + subs, prev.start, stop)
        else:
            merged.append(Segment(uid, state, subs, start, stop))
    return merged


def transition_counts(history: pd.DataFrame) -> dict[tuple[str, str], int]:
    """``(source, target) -> how many OUSs took it``, from a ``state_history`` table.

    Entries that repeat the state (a substate change) are not transitions.
    """
    takers: dict[tuple[str, str], set[str]] = {}
    previous: dict[str, str] = {}
    for uid, state in zip(history["uid"], history["state"], strict=True):
        uid, state = str(uid), str(state)
        before = previous.get(uid)
        if before is not None and before != state:
            takers.setdefault((before, state), set()).add(uid)
        previous[uid] = state
    return {pair: len(uids) for pair, uids in takers.items()}


def _seconds(start: Any, stop: Any) -> float:
    return (moment(str(stop)) - moment(str(start))).total_seconds()


def durations(history: pd.DataFrame) -> pd.DataFrame:
    """Per OUS that reached a final state: uid, launched, finished, final state, seconds."""
    rows: dict[str, dict[str, Any]] = {}
    for uid, state, when in zip(
        history["uid"], history["state"], history["timestamp"], strict=True
    ):
        row = rows.setdefault(str(uid), {"uid": str(uid), "launched": when})
        row.update(state=state, finished=when)
    done = [row for row in rows.values() if row["state"] in _FINAL_NAMES]
    for row in done:
        row["seconds"] = round(_seconds(row["launched"], row["finished"]), 3)
    return frame(done, ("uid", "launched", "finished", "state", "seconds"))


def failures(status: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Every transition the life-cycle calls a failure: uid, timestamp, kind, reason.

    The reason is the history entry's; an OUS resting in ProcessingProblem
    without one gives its status entity's ``problem``.
    """
    rows: list[dict[str, Any]] = []
    previous: dict[Any, Any] = {}
    problems = dict(zip(status["uid"], status["problem"], strict=True))
    for uid, state, when, reason in zip(
        history["uid"], history["state"], history["timestamp"], history["reason"], strict=True
    ):
        before, previous[uid] = previous.get(uid), state
        kind = _FAILURES.get((str(before), str(state)))
        if kind is None:
            continue
        if not reason and state == State.PROCESSING_PROBLEM.value:
            reason = problems.get(uid)
        rows.append({"uid": uid, "timestamp": when, "kind": kind, "reason": reason})
    return frame(rows, ("uid", "timestamp", "kind", "reason"))


def summary_figures(
    snap: Snapshot, spent: pd.DataFrame | None = None, failed: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The summary's figures by key (``spent``, ``failed``: durations and failures if known)."""
    status, history = snap["status-entities"], snap["state-history"]
    spent = durations(history) if spent is None else spent
    failed = failures(status, history) if failed is None else failed
    spans = spent["seconds"].tolist()
    outcomes = status["state"].value_counts()
    figures: dict[str, Any] = {
        "ous": len(status),
        "delivered": int(outcomes.get(State.DELIVERED.value, 0)),
        "processing-problem": int(outcomes.get(State.PROCESSING_PROBLEM.value, 0)),
        "in-progress": int(sum(n for s, n in outcomes.items() if s not in _FINAL_NAMES)),
        "failures": len(failed),
        "dead-letters": len(snap["dead-letters"]),
        "faults": len(snap["fault-events"]),
        "unread-messages": len(snap["unread-messages"]),
        "pipeline-reports": len(snap["pipeline-reports"]),
        "ngas-files": len(snap["ngas"]),
        "products-metadata": len(snap["products-metadata"]),
    }
    if spans:
        figures["duration-min"] = min(spans)
        figures["duration-median"] = round(statistics.median(spans), 3)
        figures["duration-max"] = max(spans)
    return figures


def outcomes(status: pd.DataFrame) -> pd.DataFrame:
    """How many OUSs are in each state: state, OUSs (life-cycle order, unknown states last)."""
    counts = status["state"].value_counts()
    known = [s.value for s in State]
    order = known + sorted(set(counts.index) - set(known))
    return frame(
        ({"state": s, "OUSs": int(counts[s])} for s in order if s in counts.index),
        ("state", "OUSs"),
    )


def focus_uid(status: pd.DataFrame) -> str | None:
    """The OUS a report shows in detail: the first delivered one, else the first one."""
    delivered = status[status["state"] == State.DELIVERED.value]["uid"].tolist()
    everyone = status["uid"].tolist()
    chosen = delivered or everyone
    return str(chosen[0]) if chosen else None


# -- the messages of one OUS ------------------------------------------------------------

SEQUENCE_FIELDS = [
    "_id",
    "selector",
    "sender",
    "handledBy",
    "body",
    "creationTimestamp",
    "msgbackID",
    "state",
    "error",
]


@dataclass(frozen=True)
class Arrow:
    """One message of an OUS's sequence diagram."""

    source: str
    target: str
    label: str
    when: str
    detail: str
    reply: bool = False
    dead: bool = False


def ous_messages(store: Store, uid: str) -> list[Doc]:
    """The ``msgq`` documents about OUS ``uid`` and the replies to its RPC calls, oldest first."""
    about: list[dict[str, Any]] = [{"body.ousUID": uid}, {"body.request.ousUID": uid}]
    if is_uid(uid):
        about.append({"body.name": {"$regex": f"-{uid_to_dashed(uid)}-"}})
    docs = store.find(MSGQ, {"$or": about}, fields=SEQUENCE_FIELDS)
    backs = sorted({str(doc["msgbackID"]) for doc in docs if doc.get("msgbackID")})
    if backs:
        docs += store.find(MSGQ, {"selector": {"$in": backs}}, fields=SEQUENCE_FIELDS)
    unique = {str(doc.get("_id")): doc for doc in docs}
    return sorted(unique.values(), key=lambda d: (str(d.get("creationTimestamp")), d["_id"]))


def actor_name(identity: Any) -> str:
    """``pipeline-driver.EU-1@host:123`` -> ``pipeline-driver.EU`` (as senders name themselves);
    ``(no sender)`` for a message that names none (``sender`` is optional on the wire)."""
    if not identity:
        return "(no sender)"
    return _INSTANCE.sub("", str(identity).split("@", 1)[0])


def _label(doc: Doc, reply: bool) -> str:
    body = doc.get("body")
    if reply:
        failed = isinstance(body, dict) and "error" in body
        return "reply: error" if failed else "reply"
    label = str(doc.get("selector"))
    if isinstance(body, dict) and "operation" in body:
        label += f": {body['operation']} {body.get('value', '')}".rstrip()
    return label


def arrows(docs: Sequence[Doc]) -> list[Arrow]:
    """The messages as arrows, replies going back from the callee to the caller."""
    callee: dict[str, tuple[str, str]] = {}
    result = []
    for doc in docs:
        selector = str(doc.get("selector"))
        reply = selector in callee
        if reply:  # back from whoever handled the request to whoever sent it
            target, source = callee[selector]
        else:
            source = actor_name(doc.get("sender"))
            target = actor_name(doc["handledBy"]) if doc.get("handledBy") else f"[{selector}]"
        if doc.get("msgbackID"):
            callee[str(doc["msgbackID"])] = (source, target)
        dead = doc.get("state") == "dead"
        detail = summarize_body(doc.get("body"))
        if dead:
            detail = f"DEAD: {describe_error(doc.get('error'))} | {detail}"
        when = str(doc.get("creationTimestamp") or "")
        result.append(Arrow(source, target, _label(doc, reply), when, detail, reply, dead))
    return result
