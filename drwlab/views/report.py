"""The run report: one self-contained HTML file, readable offline and years later.

Plain HTML with inline CSS and inline SVG; no script, no stylesheet, image
or font from anywhere, and no link to the network (cache URLs are printed as
text). Contents: the summary (OUSs, outcomes, durations, failures), the
timeline of every OUS, the life-cycle diagram with how many OUSs took each
transition, the message sequence of one OUS, the pipeline reports' QA
scores, dead letters (each with every attempt's error), the faults injected
(``drwlab.faults``) and how they healed (the messages that met an error and
what became of them), and every registered table (``views.registry``).

:func:`read_report` reads (the read models), :func:`report_html` renders
(pure: data in, text out); :func:`render_report` and :func:`write_report`
do both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from drwlab.store.base import Store
from drwlab.views import analysis
from drwlab.views.analysis import (
    Arrow,
    arrows,
    durations,
    failures,
    ous_messages,
    outcomes,
    summary_figures,
    transition_counts,
)
from drwlab.views.diagram import lifecycle_svg
from drwlab.views.html import STYLE, esc, links_html, snapshot_table, table_html
from drwlab.views.sequence import sequence_svg
from drwlab.views.tables import Snapshot, qa_scores, snapshot
from drwlab.views.timeline import timeline_svg

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

TITLE = "drwlab run report"

WIDE_TABLES = ("status-entities", "state-history")
"""Registered tables too wide to sit side by side: each gets the page's width."""
OWN_SECTION = ("dead-letters", "fault-events", "retried-messages")
"""Registered tables with a section of their own, not repeated among the final tables."""

FAULTS_NOTE = (
    '<p class="small">Each fault injected on purpose (<code>drwlab.faults</code>: a crash, '
    "the store going away, a dead letter re-queued, consumers without claims), then every "
    "message that met an error, with each attempt's error and what became of it: a message "
    "a crashed listener held shows its <code>LeaseExpired</code> and the listener that "
    "handled it after; a re-queued dead letter, its re-queue and its handling.</p>"
)


_LABELS = {
    "ous": "OUSs",
    "delivered": "Delivered",
    "processing-problem": "In ProcessingProblem",
    "in-progress": "Still in progress",
    "failures": "Failures (processing problems and QA2 Fail)",
    "dead-letters": "Dead letters",
    "faults": "Faults injected",
    "unread-messages": "Unread messages",
    "pipeline-reports": "Pipeline reports",
    "ngas-files": "NGAS files",
    "products-metadata": "Products metadata records",
    "duration-min": "Launch to final state, shortest (s)",
    "duration-median": "Launch to final state, median (s)",
    "duration-max": "Launch to final state, longest (s)",
}


def _summary(snap: Snapshot) -> str:
    status, history = snap["status-entities"], snap["state-history"]
    spent, failed = durations(history), failures(status, history)
    rows = "".join(
        f'<tr data-key="{esc(key)}"><th>{esc(_LABELS.get(key, key))}</th><td>{esc(value)}</td></tr>'
        for key, value in summary_figures(snap, spent, failed).items()
    )
    return (
        f'<table class="summary">{rows}</table><div class="tables">'
        f'<div class="table-div">{table_html(outcomes(status), caption="Outcomes by state")}</div>'
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


def _faults(snap: Snapshot) -> str:
    tables = (snapshot_table(snap, name) for name in ("fault-events", "retried-messages"))
    return FAULTS_NOTE + "".join(f'<div class="table-div scroll">{t}</div>' for t in tables)


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{content}</section>'


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows, read from the store at one moment."""

    store_url: str
    snap: Snapshot
    scores: pd.DataFrame
    focus_uid: str | None
    sequence: list[Arrow]


def read_report(store: Store, focus_uid: str | None = None) -> ReportData:
    """Read what the report shows: every table, the QA scores, one OUS's messages.

    ``focus_uid``: the OUS whose messages are drawn (default: the first delivered one).
    """
    snap = snapshot(store)
    uid = focus_uid if focus_uid is not None else analysis.focus_uid(snap["status-entities"])
    sequence = arrows(ous_messages(store, uid)) if uid else []
    return ReportData(store.url, snap, qa_scores(store), uid, sequence)


def _final_tables(snap: Snapshot) -> str:
    """Every registered table in registry order: wide ones across the page, the others
    side by side between them."""
    html: list[str] = []
    row: list[str] = []
    for name in snap.tables:
        if name in OWN_SECTION:
            continue
        if name in WIDE_TABLES:
            html.append(f'<div class="tables">{"".join(row)}</div>' if row else "")
            html.append(f'<div class="table-div scroll">{snapshot_table(snap, name)}</div>')
            row = []
        else:
            row.append(f'<div class="table-div">{snapshot_table(snap, name)}</div>')
    html.append(f'<div class="tables">{"".join(row)}</div>' if row else "")
    return "".join(html)


def report_html(
    data: ReportData, *, title: str = TITLE, links: Mapping[str, str] | None = None
) -> str:
    """The report of ``data`` as one HTML string (see the module docstring)."""
    snap, uid = data.snap, data.focus_uid
    history = snap["state-history"]
    sequence = (
        sequence_svg(data.sequence, title=f"messages of {uid}")
        if uid
        else '<p class="empty">no OUS</p>'
    )
    parts = [
        _section("summary", "Summary", _summary(snap)),
        _section("timeline", "Timeline", f'<div class="scroll">{timeline_svg(history)}</div>'),
        _section(
            "lifecycle",
            "Life-cycle, with how many OUSs took each transition",
            lifecycle_svg(counts=transition_counts(history)),
        ),
        _section(
            "sequence", f"Messages of {uid or 'no OUS'}", f'<div class="scroll">{sequence}</div>'
        ),
        _section("qa-scores", "Pipeline reports: QA scores", _qa_table(data.scores)),
        _section("dead-letters", "Dead letters", snapshot_table(snap, "dead-letters")),
        _section("faults", "Faults and how they healed", _faults(snap)),
        _section("tables", "Final tables", _final_tables(snap)),
        _section("links", "Links", links_html(links, clickable=False)),
    ]
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{REPORT_STYLE}</style></head><body><h1>{esc(title)}</h1>"
        f'<p class="updated">Store {esc(data.store_url)}, read at {esc(snap.taken_at)} UTC; '
        f"tables as of that moment.</p>{''.join(parts)}</body></html>\n"
    )


def render_report(
    store: Store,
    *,
    title: str = TITLE,
    focus_uid: str | None = None,
    links: Mapping[str, str] | None = None,
) -> str:
    """Read ``store`` and render its report: ``report_html(read_report(store, focus_uid))``."""
    return report_html(read_report(store, focus_uid), title=title, links=links)


def write_report(
    store: Store,
    path: str | Path,
    *,
    title: str = TITLE,
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
