"""Small helpers the teaching notebooks call, so their code cells stay a few lines long.

- ``show_lifecycle(...)``: the life-cycle diagram, drawn from the life-cycle
  table, with the current stage highlighted (and transition counts);
- ``wait_until(...)``: wait for a condition with a deadline (never a bare sleep);
- ``messages(...)``, ``entity_history(...)``, ``tree(...)``: what the notebooks look at;
- ``wait_for_weblog(...)``, ``show_weblog(...)``, ``show_html(...)``: weblogs and reports;
- ``check(...)``: the verdict of an exercise's checking cell;
- ``qa_scores(...)``, ``links(...)``, ``words(...)``: an OUS's QA scores coloured by band,
  the sandbox's links and where its databases are, the notebook's words (collapsed).

The markup comes from the renderers (``views.html``, ``views.diagram``), the
data from the read models (``views.tables``): nothing is built twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, cast

import pandas as pd
from IPython import display as ipython_display

from drwlab.glossary import glossary_html
from drwlab.lifecycle import State
from drwlab.notebook.qa2_panel import weblog_index
from drwlab.notebook.where import store_location, store_location_html
from drwlab.products import weblog_name
from drwlab.sandbox import Sandbox
from drwlab.store.base import Store
from drwlab.views import tables
from drwlab.views.analysis import transition_counts
from drwlab.views.diagram import lifecycle_svg
from drwlab.views.html import (
    esc,
    links_html,
    qa_scores_html,
    served_frame,
    verdict_html,
    weblog_frame,
)
from drwlab.views.tables import bus_messages, state_history

T = TypeVar("T")


def _show_html(markup: str) -> None:
    # IPython ships no type hints: give its two display calls a checked signature.
    html_output = cast(Callable[[str], object], ipython_display.HTML)
    cast(Callable[[object], None], ipython_display.display)(html_output(markup))


def _show_svg(markup: str) -> None:
    svg_output = cast(Callable[..., object], ipython_display.SVG)
    cast(Callable[[object], None], ipython_display.display)(svg_output(data=markup))


def show_lifecycle(highlight: State | str | None = None, store: Store | None = None) -> None:
    """Display the OUS life-cycle with ``highlight`` as the current stage; with ``store``,
    each arrow says how many OUSs took it."""
    counts = transition_counts(state_history(store)) if store is not None else None
    _show_svg(lifecycle_svg(highlight=highlight, counts=counts))


def wait_until(
    condition: Callable[[], T | None], timeout: float = 30.0, what: str = "the condition"
) -> T:
    """Return ``condition()``'s first truthy value, checking every 50 ms until ``timeout``.

    Raises TimeoutError naming ``what``: a cell that waits says what it waited for.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


def messages(store: Store, prefix: str = "") -> pd.DataFrame:
    """The ``msgq`` messages whose selector starts with ``prefix``, oldest first: selector,
    state, consumed, attempts, claimedBy, handledBy, creationTimestamp, error."""
    return bus_messages(store, prefix)


def tree(path: Path | str, limit: int = 60) -> str:
    """A directory tree as text, like the ``tree`` command (at most ``limit`` lines)."""
    root = Path(path)
    lines = [root.name + "/"]

    def walk(folder: Path, prefix: str) -> None:
        children = sorted(folder.iterdir(), key=lambda p: (p.is_file(), p.name))
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{child.name}")
            if child.is_dir() and not child.is_symlink():
                walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    more = len(lines) - limit
    return "\n".join(lines[:limit] + ([f"... {more} more"] if more > 0 else []))


def latest_weblog_stem(sandbox: Sandbox, uid: str) -> str | None:
    """The weblog folder name of the OUS's latest pipeline run (None before any report)."""
    report = sandbox.qa2.latest_report(uid)
    if report is None:
        return None
    return weblog_name(uid, str(report["timestamp"])).removesuffix(".zip")


def wait_for_weblog(sandbox: Sandbox, uid: str, timeout: float = 30.0) -> Path:
    """Wait until the JAO cache has expanded the weblog of the OUS's latest run; its folder.

    The pipeline driver sets ReadyForReview as soon as it has *asked* the
    caches to replicate; the JAO copy arrives a moment later.
    """

    def expanded() -> Path | None:
        stem = latest_weblog_stem(sandbox, uid)
        folder = sandbox.caches["JAO"] / "weblogs" / stem if stem else None
        return folder if folder is not None and (folder / "index.html").is_file() else None

    return wait_until(expanded, timeout, f"the weblog of {uid} at JAO")


def show_weblog(folder: Path, url: str | None = None, height: int = 300) -> None:
    """Display a weblog inline (works on a remote Jupyter) and, given its served ``url``,
    a link to it and the served page in an IFrame (if the browser can reach the port)."""
    page = weblog_index(folder)
    if page is None:
        _show_html(f'<p class="error">no weblog in {esc(folder)}</p>')
        return
    _show_html(weblog_frame(page, url, height))
    if url:
        _show_html(served_frame(url, height))


def show_html(path: Path | str, height: int = 400) -> None:
    """Display an HTML file (a run report) inline, in a frame that runs no scripts."""
    page = Path(path).read_text(encoding="utf-8")
    _show_html(weblog_frame(page, None, height))


def entity_history(sandbox: Sandbox, uid: str) -> pd.DataFrame:
    """The state history of one OUS: state, substate, timestamp, actor, reason."""
    return tables.entity_history(sandbox.store, uid)


def check(passed: bool, success: str, hint: str) -> bool:
    """Display an exercise's verdict: ``success`` when ``passed``, else ``hint``."""
    _show_html(verdict_html(passed, success, hint))
    return passed


def qa_scores(sandbox: Sandbox, uid: str) -> None:
    """Display the QA scores of the OUS's latest pipeline run, each coloured by its band."""
    scores = tables.qa_scores(sandbox.store, uid)
    if not scores.empty:
        scores = scores[scores["timestamp"] == scores["timestamp"].max()]
    _show_html(qa_scores_html(scores))


def links(sandbox: Sandbox) -> None:
    """Display the sandbox's web pages (dashboard, served caches) as links that open in a tab,
    and where its databases are (on CouchDB, with links into the server's web UI)."""
    _show_html(f'<div class="drwlab-links">{links_html(sandbox.urls)}</div>')
    _show_html(store_location_html(store_location(sandbox)))


def words(terms: Iterable[str]) -> None:
    """Display the glossary entries of ``terms``, collapsed under one line to click open.

    Raises ``drwlab.glossary.UnknownTerm`` for a word the glossary lacks.
    """
    _show_html(
        '<details class="drwlab-words"><summary>The words of this notebook (click to open)'
        f"</summary>{glossary_html(list(terms))}</details>"
    )
