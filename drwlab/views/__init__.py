"""Views of a running system: pandas tables, HTML fragments, SVG diagrams, the dashboard, reports.

One layer serves the notebook panels, the dashboard web page and the exported
HTML report, so they never disagree: ``tables`` reads the databases into
DataFrames, ``html`` turns them into escaped fragments, ``diagram``,
``timeline`` and ``sequence`` draw SVG, ``dashboard`` serves it all live and
``report`` writes one self-contained file.
"""

from __future__ import annotations

from drwlab.views.dashboard import Dashboard
from drwlab.views.diagram import lifecycle_mermaid, lifecycle_svg, transition_counts
from drwlab.views.report import render_report, write_report
from drwlab.views.sequence import ous_sequence_svg
from drwlab.views.tables import (
    Snapshot,
    actor_liveness,
    board,
    change_token,
    dead_letters,
    delivery_status,
    ngas_files,
    pipeline_reports,
    products_metadata,
    qa_scores,
    snapshot,
    state_history,
    status_entities,
    unread_messages,
)
from drwlab.views.timeline import timeline_svg

__all__ = [
    "Dashboard",
    "Snapshot",
    "actor_liveness",
    "board",
    "change_token",
    "dead_letters",
    "delivery_status",
    "lifecycle_mermaid",
    "lifecycle_svg",
    "ngas_files",
    "ous_sequence_svg",
    "pipeline_reports",
    "products_metadata",
    "qa_scores",
    "render_report",
    "snapshot",
    "state_history",
    "status_entities",
    "timeline_svg",
    "transition_counts",
    "unread_messages",
    "write_report",
]
