"""The run report: one self-contained HTML file, readable offline and years later.

Plain HTML with inline CSS and inline SVG; no script, no stylesheet, image
or font from anywhere, and no link to the network (cache URLs are printed as
text). Contents: the summary (OUSs, outcomes, durations, failures), the
timeline of every OUS, the life-cycle diagram with how many OUSs took each
transition, the message sequence of one OUS, the pipeline reports' QA
scores, dead letters, and the final tables of every database.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from drwlab.lifecycle import FINAL_STATES, STATES, State
from drwlab.store.base import Store
from drwlab.views.diagram import lifecycle_svg, transition_counts
from drwlab.views.html import STYLE, esc, links_html, snapshot_table, table_html
from drwlab.views.sequence import ous_sequence_svg
from drwlab.views.tables import Snapshot, frame, qa_scores, snapshot
from drwlab.views.timeline import moment, timeline_svg

REPORT_STYLE = (
    STYLE
    + """
.summary th { font-weight: normal; color: #555; }
.summary td { font-weight: bold; }
table.data tr td.good { background: #c8e6c9; }
table.data tr td.warn { background: #fff9c4; }
table.data tr td.bad { background: #ffcdd2; }
section { margin-bottom: 1.5em; }
.scroll { overflow-x: auto; }
"""
)

FINAL_TABLES = (
    "pipeline-reports",
    "delivery-status",
    "ngas",
    "products-metadata",
    "unread-messages",
    "liveness",
)


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
    done = [row for row in rows.values() if row["state"] in {s.value for s in FINAL_STATES}]
    for row in done:
        row["seconds"] = round(_seconds(row["launched"], row["finished"]), 3)
    return frame(done, ("uid", "launched", "finished", "state", "seconds"))


def failures(snap: Snapshot) -> pd.DataFrame:
    """Every entry into ProcessingProblem, and every QA2 Fail: uid, timestamp, kind, reason."""
    rows: list[dict[str, Any]] = []
    previous: dict[Any, Any] = {}
    problems = dict(zip(snap.status["uid"], snap.status["problem"], strict=True))
    history = snap.history
    for uid, state, when, reason in zip(
        history["uid"], history["state"], history["timestamp"], history["reason"], strict=True
    ):
        before, previous[uid] = previous.get(uid), state
        if state == State.PROCESSING_PROBLEM.value and before != state:
            kind, why = state, reason or problems.get(uid)
        elif before == State.REVIEWING.value and state == State.READY_FOR_PROCESSING.value:
            kind, why = "QA2 Fail", reason
        else:
            continue
        rows.append({"uid": uid, "timestamp": when, "kind": kind, "reason": why})
    return frame(rows, ("uid", "timestamp", "kind", "reason"))


def summary_figures(
    snap: Snapshot, spent: pd.DataFrame | None = None, failed: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The summary's figures by key (``spent``, ``failed``: durations and failures if known)."""
    spent = durations(snap.history) if spent is None else spent
    failed = failures(snap) if failed is None else failed
    spans = spent["seconds"].tolist()
    outcomes = snap.status["state"].value_counts()
    figures: dict[str, Any] = {
        "ous": len(snap.status),
        "delivered": int(outcomes.get(State.DELIVERED.value, 0)),
        "processing-problem": int(outcomes.get(State.PROCESSING_PROBLEM.value, 0)),
        "in-progress": int(sum(n for s, n in outcomes.items() if s not in _FINAL_NAMES)),
        "failures": len(failed),
        "dead-letters": len(snap.dead_letters),
        "unread-messages": len(snap.unread_messages),
        "pipeline-reports": len(snap.pipeline_reports),
        "ngas-files": len(snap.ngas),
        "products-metadata": len(snap.products_metadata),
    }
    if spans:
        figures["duration-min"] = min(spans)
        figures["duration-median"] = round(statistics.median(spans), 3)
        figures["duration-max"] = max(spans)
    return figures


_FINAL_NAMES = {s.value for s in FINAL_STATES}
_LABELS = {
    "ous": "OUSs",
    "delivered": "Delivered",
    "processing-problem": "In ProcessingProblem",
    "in-progress": "Still in progress",
    "failures": "Failures (processing problems and QA2 Fail)",
    "dead-letters": "Dead letters",
    "unread-messages": "Unread messages",
    "pipeline-reports": "Pipeline reports",
    "ngas-files": "NGAS files",
    "products-metadata": "Products metadata records",
    "duration-min": "Launch to final state, shortest (s)",
    "duration-median": "Launch to final state, median (s)",
    "duration-max": "Launch to final state, longest (s)",
}


def _summary(snap: Snapshot) -> str:
    spent, failed = durations(snap.history), failures(snap)
    rows = "".join(
        f'<tr data-key="{esc(key)}"><th>{esc(_LABELS.get(key, key))}</th><td>{esc(value)}</td></tr>'
        for key, value in summary_figures(snap, spent, failed).items()
    )
    counts = snap.status["state"].value_counts()
    order = [s.value for s in STATES] + sorted(set(counts.index) - {s.value for s in STATES})
    outcome = frame(
        ({"state": s, "OUSs": int(counts[s])} for s in order if s in counts.index),
        ("state", "OUSs"),
    )
    return (
        f'<table class="summary">{rows}</table><div class="tables">'
        f'<div class="table-div">{table_html(outcome, caption="Outcomes by state")}</div>'
        f'<div class="table-div">{table_html(failed, caption="Failures")}</div>'
        f'<div class="table-div">{table_html(spent, caption="Durations")}'
        "</div></div>"
    )


def _qa_runs(scores: pd.DataFrame) -> dict[tuple[Any, Any], dict[str, Any]]:
    """(ousUID, run timestamp) -> stage -> score (or ``error`` -> why it was unreadable)."""
    runs: dict[tuple[Any, Any], dict[str, Any]] = {}
    for uid, when, stage, name, score in scores.itertuples(index=False):
        run = runs.setdefault((uid, when), {})
        if stage is None:
            run["error"] = name
        else:
            run[str(stage)] = score
    return runs


def _qa_table(scores: pd.DataFrame) -> str:
    """One row per pipeline run, one column per stage, scores colored."""
    if scores.empty:
        return '<p class="empty">no pipeline reports</p>'
    stages = list(dict.fromkeys(str(s) for s in scores["stage"] if s is not None))
    head = "".join(f"<th>{esc(s)}</th>" for s in ["OUS UID", "Run", "Lowest", *stages])
    body = []
    for (uid, when), run in _qa_runs(scores).items():
        values = [v for k, v in run.items() if k != "error" and isinstance(v, (int, float))]
        low = min(values) if values else None
        cells = [f"<td>{esc(uid)}</td><td>{esc(when)}</td>"]
        if "error" in run:
            cells.append(f'<td class="error" colspan="{len(stages) + 1}">{esc(run["error"])}</td>')
        else:
            cells += [_score_cell(low)] + [_score_cell(run.get(s)) for s in stages]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table class="data"><caption>QA scores</caption><tr>{head}</tr>'
        f"{''.join(body)}</table></div>"
    )


def _score_cell(score: Any) -> str:
    if not isinstance(score, (int, float)):
        return "<td></td>"
    kind = "good" if score >= 0.9 else "warn" if score >= 0.66 else "bad"
    return f'<td class="{kind}">{score:.2f}</td>'


def _focus(snap: Snapshot, focus_uid: str | None) -> str | None:
    if focus_uid is not None:
        return focus_uid
    delivered = snap.status[snap.status["state"] == State.DELIVERED.value]["uid"].tolist()
    everyone = snap.status["uid"].tolist()
    return str((delivered or everyone)[0]) if (delivered or everyone) else None


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{content}</section>'


def render_report(
    store: Store,
    *,
    title: str = "drwlab run report",
    focus_uid: str | None = None,
    links: Mapping[str, str] | None = None,
) -> str:
    """The report of everything in ``store`` as one HTML string (see the module docstring)."""
    snap = snapshot(store)
    uid = _focus(snap, focus_uid)
    sequence = ous_sequence_svg(store, uid) if uid else '<p class="empty">no OUS</p>'
    finals = "".join(
        f'<div class="table-div">{snapshot_table(snap, name)}</div>' for name in FINAL_TABLES
    )
    status = table_html(snap.status, caption="Status entities")
    history = table_html(snap.history, caption="State history")
    by_selector = table_html(snap.messages, caption="msgq: messages by selector")
    parts = [
        _section("summary", "Summary", _summary(snap)),
        _section("timeline", "Timeline", f'<div class="scroll">{timeline_svg(snap.history)}</div>'),
        _section(
            "lifecycle",
            "Life-cycle, with how many OUSs took each transition",
            lifecycle_svg(counts=transition_counts(snap.history)),
        ),
        _section(
            "sequence", f"Messages of {uid or 'no OUS'}", f'<div class="scroll">{sequence}</div>'
        ),
        _section("qa-scores", "Pipeline reports: QA scores", _qa_table(qa_scores(store))),
        _section("dead-letters", "Dead letters", snapshot_table(snap, "dead-letters")),
        _section(
            "tables",
            "Final tables",
            f'<div class="table-div scroll">{status}</div>'
            f'<div class="tables">{finals}<div class="table-div">{by_selector}</div></div>'
            f'<div class="table-div scroll">{history}</div>',
        ),
        _section("links", "Links", links_html(links, clickable=False)),
    ]
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{REPORT_STYLE}</style></head><body><h1>{esc(title)}</h1>"
        f'<p class="updated">Store {esc(store.url)}, read at {esc(snap.taken_at)} UTC; '
        f"tables as of that moment.</p>{''.join(parts)}</body></html>\n"
    )


def write_report(
    store: Store,
    path: str | Path,
    *,
    title: str = "drwlab run report",
    focus_uid: str | None = None,
    links: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        render_report(store, title=title, focus_uid=focus_uid, links=links), encoding="utf-8"
    )
    return target
