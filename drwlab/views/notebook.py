"""Small helpers the teaching notebooks call, so their code cells stay a few lines long.

- ``start_sandbox(...)``: start the kernel's Sandbox, or give back the one
  already running (re-running a cell must not start a second set of actors);
- ``autopilot()``: True under the test command (``DRWLAB_AUTOPILOT=1``), when
  the notebooks press their own QA2 buttons because nobody is there to click;
- ``show_lifecycle(...)``: the life-cycle diagram, drawn from the life-cycle
  table, with the current stage highlighted (and transition counts);
- ``wait_until(...)``: wait for a condition with a deadline (never a bare sleep);
- ``messages(...)``, ``tree(...)``, ``wait_for_weblog(...)``, ``show_weblog(...)``,
  ``entity_history(...)``, ``show_html(...)``: what the notebooks look at;
- ``check(...)``: the verdict of an exercise's checking cell.

Module-level state: exactly one, ``_KERNEL``, the Sandbox this kernel's
notebook started (a notebook kernel is one process running one notebook, so
"the notebook's sandbox" is per process). It is created by ``start_sandbox``,
replaced when asked for other options, and forgotten by ``stop_sandbox``,
which also runs when the kernel ends (registered with ``atexit`` by the first
``start_sandbox``), so a kernel shut down with its sandbox running leaves no
work dir behind. Nothing else here keeps state, reads configuration at import
or starts threads.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
from IPython import display as ipython_display

from drwlab.lifecycle import State
from drwlab.products import weblog_name
from drwlab.sandbox import Sandbox
from drwlab.settings import from_environment
from drwlab.store.base import Store
from drwlab.views import html as fragments
from drwlab.views.diagram import lifecycle_svg, transition_counts
from drwlab.views.qa2_panel import weblog_frame, weblog_index
from drwlab.views.tables import state_history

log = logging.getLogger(__name__)

T = TypeVar("T")

MESSAGE_COLUMNS = (
    "selector",
    "state",
    "consumed",
    "attempts",
    "claimedBy",
    "handledBy",
    "creationTimestamp",
    "error",
)


def _show_html(markup: str) -> None:
    # IPython ships no type hints: give its two display calls a checked signature.
    html_output = cast(Callable[[str], object], ipython_display.HTML)
    cast(Callable[[object], None], ipython_display.display)(html_output(markup))


def _show_svg(markup: str) -> None:
    svg_output = cast(Callable[..., object], ipython_display.SVG)
    cast(Callable[[object], None], ipython_display.display)(svg_output(data=markup))


class _KernelSandbox:
    """The one Sandbox of this kernel, and the options it was started with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sandbox: Sandbox | None = None
        self.options: dict[str, Any] = {}
        self.exit_hook_registered = False


_KERNEL = _KernelSandbox()


def autopilot() -> bool:
    """True when ``DRWLAB_AUTOPILOT`` is set (the test command): notebooks then press
    their own QA2 buttons, as nobody is there to click."""
    return from_environment().autopilot


def start_sandbox(
    *,
    seed: int | None = None,
    failure_rate: float = 0.1,
    time_scale: float | None = None,
    executives: tuple[str, ...] = ("EU",),
) -> Sandbox:
    """The kernel's running Sandbox with these options: reused if it runs, else started.

    ``time_scale=None`` takes ``DRWLAB_TIME_SCALE`` (the fast mode of the test
    command) or the original's timings. The sandbox starts on a fresh
    temporary work dir and SQLite store. AQUA QA2 never decides by itself
    here: in the notebooks a person (or, under the autopilot, the notebook's
    own code) presses the buttons.
    """
    options: dict[str, Any] = {
        "seed": seed,
        "failure_rate": failure_rate,
        "time_scale": time_scale,
        "executives": tuple(executives),
    }
    with _KERNEL.lock:
        current = _KERNEL.sandbox
        if current is not None and current.running and _KERNEL.options == options:
            return current
        if current is not None:
            current.discard()
        sandbox = Sandbox(start=False, **options)
        sandbox.autopilot = None  # QA2 decisions belong to the notebook, not to AQUA
        sandbox.start()
        _KERNEL.sandbox, _KERNEL.options = sandbox, options
        if not _KERNEL.exit_hook_registered:
            atexit.register(stop_sandbox)
            _KERNEL.exit_hook_registered = True
        log.info("notebook sandbox started: %r", sandbox)
        return sandbox


def stop_sandbox() -> None:
    """Stop the kernel's Sandbox (its actors, servers and live views), if any, and
    delete its temporary work dir: the next ``start_sandbox()`` makes a fresh one."""
    with _KERNEL.lock:
        if _KERNEL.sandbox is not None:
            _KERNEL.sandbox.discard()
        _KERNEL.sandbox, _KERNEL.options = None, {}


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
    selector: dict[str, Any] = {"selector": {"$regex": "^" + _regex_escape(prefix)}}
    docs = store.find("msgq", selector)
    docs.sort(key=lambda doc: (str(doc.get("creationTimestamp")), str(doc.get("_id"))))
    rows = [{name: doc.get(name) for name in MESSAGE_COLUMNS} for doc in docs]
    return pd.DataFrame(rows, columns=list(MESSAGE_COLUMNS), dtype=object)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?{}[]\\|()" else c for c in text)


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
        _show_html(f'<p class="error">no weblog in {fragments.esc(folder)}</p>')
        return
    _show_html(weblog_frame(page, url, height))
    if url:
        safe = fragments.esc(url)
        _show_html(
            f'<p>Served by the JAO cache: <a href="{safe}" target="_blank">{safe}</a></p>'
            f'<iframe src="{safe}" style="width: 100%; height: {int(height)}px; '
            'border: 1px solid #ccc;"></iframe>'
        )


def show_html(path: Path | str, height: int = 400) -> None:
    """Display an HTML file (a run report) inline, in a frame that runs no scripts."""
    page = Path(path).read_text(encoding="utf-8")
    _show_html(weblog_frame(page, None, height))


def entity_history(sandbox: Sandbox, uid: str) -> pd.DataFrame:
    """The state history of one OUS: state, substate, timestamp, actor, reason."""
    history = state_history(sandbox.store)
    rows = history[history["uid"] == uid]
    return rows.drop(columns=["uid"]).reset_index(drop=True)


def check(passed: bool, success: str, hint: str) -> bool:
    """Display an exercise's verdict: ``success`` when ``passed``, else ``hint``."""
    if passed:
        text, color = "\u2714 " + success, "#1b5e20"
    else:
        text, color = "\u2718 Not yet: " + hint, "#b71c1c"
    _show_html(f'<p style="color: {color}; font-weight: bold">{fragments.esc(text)}</p>')
    return passed
