"""Live tables and the board as ipywidgets, refreshed from a background thread.

A :class:`Refresher` is one daemon thread that wakes every ``interval`` seconds
(0.5 s by default), reads the cheap change token of the databases it watches
(``tables.change_token``: one seq per database) and calls its ``render``
callback only when the token moved. So a view refreshes at least once a second
while something changes and does no rendering at all while nothing does. Its
loop waits on a ``threading.Event``, so ``stop()`` is immediate.

A :class:`LiveView` is a box of ``widgets.HTML`` parts (the board and any of
the dashboard tables), filled from the same accessors (``views.tables``) and
HTML fragments (``views.html``) as the dashboard page and the report. Widget
values set from the thread reach the page without running a cell.

``live_board(source)`` and ``live_tables(source, ...)`` build and start one.
When ``source`` is a Sandbox, the refresher also watches ``sandbox.running``
and ends by itself (within one interval) once the sandbox is stopped, so
stopping the sandbox stops every refresher; with a bare Store, call
``view.stop()`` yourself.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from drwlab.sandbox import Sandbox
from drwlab.store.base import Store
from drwlab.timeutil import timestamp
from drwlab.views import html as fragments
from drwlab.views import tables
from drwlab.views.tables import ChangeToken

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5
"""Seconds between two looks at the change token (so two refreshes per second at most)."""

STATUS_TABLE = "status-entities"
HISTORY_TABLE = "state-history"
BOARD = "board"

ROW_LIMIT = 50
"""Rows shown per live table (the rest is counted, not drawn)."""

_CLASSES = {"error": "error", "body": "body"}
_Render = Callable[[Store], str]


def _table(accessor: Callable[[Store], pd.DataFrame], name: str) -> _Render:
    caption, _, headers = fragments.TABLES[name]

    def render(store: Store) -> str:
        return fragments.table_html(
            accessor(store), caption=caption, headers=headers, classes=_CLASSES, limit=ROW_LIMIT
        )

    return render


PARTS: dict[str, tuple[tuple[str, ...], _Render]] = {
    BOARD: (("status-entities",), lambda store: fragments.board_html(tables.board(store))),
    STATUS_TABLE: (
        ("status-entities",),
        lambda store: fragments.table_html(
            tables.status_entities(store), caption="Status entities", limit=ROW_LIMIT
        ),
    ),
    HISTORY_TABLE: (
        ("status-entities",),
        lambda store: fragments.table_html(
            tables.state_history(store), caption="State history", limit=ROW_LIMIT
        ),
    ),
    "pipeline-reports": (
        ("pipeline-reports",),
        _table(tables.pipeline_reports, "pipeline-reports"),
    ),
    "delivery-status": (("delivery-status",), _table(tables.delivery_status, "delivery-status")),
    "unread-messages": (("msgq",), _table(tables.unread_messages, "unread-messages")),
    "ngas": (("ngas",), _table(tables.ngas_files, "ngas")),
    "products-metadata": (
        ("products-metadata",),
        _table(tables.products_metadata, "products-metadata"),
    ),
    "dead-letters": (("msgq",), _table(tables.dead_letters, "dead-letters")),
    "liveness": (("msgq",), _table(tables.actor_liveness, "liveness")),
}
"""Every part a LiveView can show: the board and each table, with the databases it reads."""

ALL_TABLES: tuple[str, ...] = tuple(name for name in PARTS if name != BOARD)

Source = Store | Sandbox
"""What a view reads: a Store, or a Sandbox (its store, for as long as it runs)."""


def scoped_style(css: str, scope: str) -> str:
    """``css`` with every rule limited to elements inside ``scope`` (``body`` becomes it).

    The shared dashboard style styles whole pages; inside JupyterLab it must
    only touch our own widgets.
    """

    def scope_rule(match: re.Match[str]) -> str:
        selectors = [s.strip() for s in match.group(1).split(",")]
        scoped = [scope if s == "body" else f"{scope} {s}" for s in selectors]
        return ", ".join(scoped) + " {"

    return re.sub(r"([^{}]+?)\s*\{", scope_rule, css)


WIDGET_STYLE = """
.widget-html-content { line-height: 1.35; }
.board th { font-size: .8em; overflow-wrap: anywhere; vertical-align: bottom; }
.board .card .uid { font-size: .8em; }
"""
"""What JupyterLab's widget CSS needs on top of the dashboard's (it sets a 28 px line height)."""


def style_tag(scope: str = ".drwlab-live") -> str:
    """A ``<style>`` element with the dashboard's CSS, scoped to our widgets."""
    return f"<style>{scoped_style(fragments.STYLE + WIDGET_STYLE, scope)}</style>"


class Refresher:
    """Calls ``render()`` in a daemon thread each time the watched databases change.

    Parameters
    ----------
    store:
        Where to read the change token.
    render:
        Called in the refresher's thread once at start, then after each change.
        An exception it raises is logged (once per distinct message) and the
        refresher carries on.
    databases:
        The databases whose change token is watched.
    interval:
        Seconds between two looks at the token; a burst of changes within one
        interval causes one render.
    alive:
        Looked at before each look at the token: once it returns False the
        refresher ends by itself (a Sandbox's ``running``), then calls ``on_exit``.
    """

    def __init__(
        self,
        store: Store,
        render: Callable[[], None],
        *,
        databases: Sequence[str],
        interval: float = DEFAULT_INTERVAL,
        name: str = "drwlab-refresher",
        alive: Callable[[], bool] | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, not {interval!r}")
        self.store = store
        self.databases = tuple(databases)
        self.interval = interval
        self.renders = 0
        self.last_error: str | None = None
        self._render = render
        self._alive = alive
        self._on_exit = on_exit
        self._token: ChangeToken | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __repr__(self) -> str:
        return f"Refresher({self._thread.name!r}, running={self.running}, renders={self.renders})"

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._thread.is_alive() and not self._stop.is_set()

    @property
    def finished(self) -> bool:
        """True once the thread has ended (or was never started)."""
        return not self._thread.is_alive()

    def start(self) -> Refresher:
        """Start the thread (once); returns self."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait for it (at most ``timeout`` seconds); idempotent."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def check(self) -> bool:
        """Render now if the token moved since the last render; True if it rendered."""
        token = tables.change_token(self.store, self.databases)
        if token == self._token:
            return False
        self._render()
        self._token = token
        self.renders += 1
        return True

    def _run(self) -> None:
        next_look = time.monotonic()
        while not self._stop.is_set():
            if self._alive is not None and not self._alive():
                log.info("%s: its source stopped; refresher ends", self._thread.name)
                self._stop.set()
                break
            try:
                self.check()
                self.last_error = None
            except Exception as error:  # a background thread: report, never die silently
                if self._alive is None or self._alive():
                    if str(error) != self.last_error:
                        log.warning("%s: refresh failed: %s", self._thread.name, error)
                    self.last_error = str(error)
            # Looks keep to a fixed beat, so a slow render does not stretch the period.
            next_look = max(next_look + self.interval, time.monotonic() + self.interval / 10)
            self._stop.wait(next_look - time.monotonic())
        if self._on_exit is not None:
            self._on_exit()


class LiveView:
    """The board and/or tables of a store as ipywidgets, kept up to date by a Refresher.

    ``widget`` is the ipywidgets box to display (the view displays itself as
    that box in a notebook); ``parts`` maps each part name to its HTML widget.
    With a Sandbox as ``source`` the view ends when the sandbox stops. Build
    one with :func:`live_board` or :func:`live_tables`.
    """

    def __init__(
        self,
        source: Source,
        parts: Sequence[str],
        *,
        interval: float = DEFAULT_INTERVAL,
        title: str | None = None,
    ) -> None:
        unknown = [name for name in parts if name not in PARTS]
        if unknown or not parts:
            raise ValueError(f"unknown or no parts {unknown!r}; choose from {sorted(PARTS)}")
        self.store = store_of(source)
        self.parts: dict[str, widgets.HTML] = {}
        for name in parts:
            part = widgets.HTML(value="")
            part.add_class("drwlab-live-part")
            part.add_class(f"drwlab-live-{name}")
            self.parts[name] = part
        self.status = widgets.HTML(value="")
        self.status.add_class("drwlab-live-status")
        heading = [widgets.HTML(f"<h3>{fragments.esc(title)}</h3>")] if title else []
        tables_box = widgets.Box(
            [part for name, part in self.parts.items() if name != BOARD],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", gap="12px"),
        )
        board = [self.parts[BOARD]] if BOARD in self.parts else []
        self.widget = widgets.VBox(
            [widgets.HTML(style_tag()), *heading, *board, tables_box, self.status]
        )
        self.widget.add_class("drwlab-live")
        self._tokens: dict[str, ChangeToken] = {}
        self.refresher = Refresher(
            self.store,
            self.refresh,
            databases=sorted({db for name in parts for db in PARTS[name][0]}),
            interval=interval,
            name="drwlab-live-view",
            alive=alive_of(source),
            on_exit=self._show_stopped,
        )

    def __repr__(self) -> str:
        return f"LiveView({list(self.parts)}, {self.refresher!r})"

    def refresh(self) -> None:
        """Redraw the parts whose databases changed since they were last drawn."""
        for name, part in self.parts.items():
            databases, render = PARTS[name]
            token = tables.change_token(self.store, databases)
            if self._tokens.get(name) != token:
                part.value = render(self.store)
                self._tokens[name] = token
        self.status.value = f'<span class="updated">updated {timestamp()} UTC</span>'

    def start(self) -> LiveView:
        """Start refreshing in the background; returns self."""
        self.refresher.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop refreshing (the widgets keep their last values); idempotent."""
        self.refresher.stop(timeout)

    def _show_stopped(self) -> None:
        self.status.value = (
            f'<span class="updated">stopped at {timestamp()} UTC; values as of then</span>'
        )

    @property
    def running(self) -> bool:
        """True while the view refreshes itself."""
        return self.refresher.running

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, Any] | None:
        bundle: Mapping[str, Any] | None = self.widget._repr_mimebundle_(**kwargs)
        return bundle


def store_of(source: Source) -> Store:
    """The store of ``source``: a Store itself, or a Sandbox's store."""
    if isinstance(source, Store):
        return source
    if isinstance(source, Sandbox):
        return source.store
    raise TypeError(f"expected a Store or a Sandbox, not {type(source).__name__}")


def alive_of(source: Source) -> Callable[[], bool] | None:
    """For a Sandbox, whether it still runs (views end with it); None for a Store."""
    if isinstance(source, Sandbox):
        return lambda: source.running
    return None


def live_view(
    source: Source,
    parts: Sequence[str],
    *,
    interval: float = DEFAULT_INTERVAL,
    title: str | None = None,
) -> LiveView:
    """A started LiveView of ``parts`` of ``source`` (a Store or a Sandbox); see PARTS."""
    return LiveView(source, parts, interval=interval, title=title).start()


def live_board(source: Source, *, interval: float = DEFAULT_INTERVAL) -> LiveView:
    """The OUSs in columns by state, with substate, executive and time, updating live."""
    return live_view(source, [BOARD], interval=interval)


def live_tables(
    source: Source,
    names: Sequence[str] = (STATUS_TABLE, "unread-messages"),
    *,
    interval: float = DEFAULT_INTERVAL,
    title: str | None = None,
) -> LiveView:
    """Live tables of ``source``; ``names`` from :data:`ALL_TABLES` (e.g. ``"ngas"``)."""
    return live_view(source, names, interval=interval, title=title)
