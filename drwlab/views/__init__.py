"""Views of a running system, in layers: store -> read models -> renderers -> outputs.

- **registry** (``registry``): one entry per table (database read, columns,
  caption, how rows are made); everything below iterates it.
- **read models** (``tables``, ``analysis``): pure functions from store
  documents to pandas tables and plain data (snapshot, durations, failures,
  transition counts, timeline segments, one OUS's message sequence).
- **renderers** (``html``, ``diagram``, ``timeline``, ``sequence``,
  ``report``): pure, data in, text out (HTML fragments, SVG, the report).
- **outputs**: the live dashboard server (``dashboard``, following the store
  with ``follow``) and the report file (``report.write_report``). The
  notebook widgets are ``drwlab.notebook``, above the Sandbox.

Nothing here imports the Sandbox or the notebook layer; the Sandbox starts
the dashboard, and the notebook layer builds on both.
"""

from __future__ import annotations

from drwlab.views.analysis import transition_counts
from drwlab.views.dashboard import Dashboard
from drwlab.views.diagram import lifecycle_mermaid, lifecycle_svg
from drwlab.views.registry import TABLES, TableSpec
from drwlab.views.report import render_report, write_report
from drwlab.views.sequence import sequence_svg
from drwlab.views.tables import (
    Snapshot,
    actor_liveness,
    board,
    change_token,
    dead_letters,
    delivery_status,
    injected_faults,
    ngas_files,
    pipeline_reports,
    products_metadata,
    qa_scores,
    read_table,
    retried_messages,
    snapshot,
    state_history,
    status_entities,
    unread_messages,
)
from drwlab.views.timeline import timeline_svg

__all__ = [
    "TABLES",
    "Dashboard",
    "Snapshot",
    "TableSpec",
    "actor_liveness",
    "board",
    "change_token",
    "dead_letters",
    "delivery_status",
    "injected_faults",
    "lifecycle_mermaid",
    "lifecycle_svg",
    "ngas_files",
    "pipeline_reports",
    "products_metadata",
    "qa_scores",
    "read_table",
    "render_report",
    "retried_messages",
    "sequence_svg",
    "snapshot",
    "state_history",
    "status_entities",
    "timeline_svg",
    "transition_counts",
    "unread_messages",
    "write_report",
]
