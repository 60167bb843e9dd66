"""The notebook layer: everything a teaching notebook calls, behind one import.

    from drwlab import notebook as nb

    sb = nb.start_sandbox()
    nb.live_board(sb)
    nb.tables.unread_messages(sb.store)
    nb.system_map(sb, highlight="Processing")

It sits above the Sandbox and the views: widgets (``live``, and the live
pictures of ``pictures``), the QA2 review
panel (``qa2_panel``), notebook helpers (``helpers``) and the kernel's one
Sandbox (``kernel``, the only kernel-wide global in drwlab). It needs the
``lab`` extra (ipywidgets, IPython): ``pip install 'drwlab[lab]'``. Nothing
below it imports it.
"""

from __future__ import annotations

try:
    import IPython  # noqa: F401 - only to say what is missing, before anything else fails
    import ipywidgets  # noqa: F401
except ImportError as missing:
    raise ImportError(
        f"drwlab.notebook needs the lab extra ({missing.msg}): pip install 'drwlab[lab]'"
    ) from missing

from drwlab.notebook.classroom import class_reviews, host_class, join_class
from drwlab.notebook.helpers import (
    check,
    entity_history,
    latest_weblog_stem,
    links,
    messages,
    qa_scores,
    show_html,
    show_lifecycle,
    show_weblog,
    tree,
    wait_for_weblog,
    wait_until,
    words,
)
from drwlab.notebook.kernel import autopilot, quiet_logging, start_sandbox, stop_sandbox
from drwlab.notebook.live import LiveView, live_board, live_tables, live_view
from drwlab.notebook.pictures import LivePicture, live_sequence, live_timeline, system_map
from drwlab.notebook.qa2_panel import QA2Panel, qa2_panel
from drwlab.views import tables

__all__ = [
    "LivePicture",
    "LiveView",
    "QA2Panel",
    "autopilot",
    "check",
    "class_reviews",
    "entity_history",
    "host_class",
    "join_class",
    "latest_weblog_stem",
    "links",
    "live_board",
    "live_sequence",
    "live_tables",
    "live_timeline",
    "live_view",
    "messages",
    "qa2_panel",
    "qa_scores",
    "quiet_logging",
    "show_html",
    "show_lifecycle",
    "show_weblog",
    "start_sandbox",
    "stop_sandbox",
    "system_map",
    "tables",
    "tree",
    "wait_for_weblog",
    "wait_until",
    "words",
]
