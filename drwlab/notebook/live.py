"""Live tables and the board as ipywidgets, redrawn from a background thread on each change.

A :class:`LiveView` is a box of ``widgets.HTML`` parts (the board and any
table of ``views.registry.TABLES``), filled from the same read models and
renderers as the dashboard page and the report. A ``views.follow.Follower``
wakes it when a database it shows changes (the store's change feed, no
polling): only the parts reading that database are redrawn, and while
nothing changes nothing is read. Widget values set from the follower's thread
reach the page without running a cell.

``live_board(source)`` and ``live_tables(source, ...)`` build and start one.
When ``source`` is a Sandbox the view ends by itself once the sandbox stops
(within a heartbeat of the feed), so stopping the sandbox stops every view;
with a bare Store, call ``view.stop()`` yourself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import ipywidgets as widgets
from IPython import display as ipython_display

from drwlab.notebook.shown import SHOWN
from drwlab.sandbox import Sandbox
from drwlab.store.base import Store
from drwlab.timeutil import timestamp
from drwlab.views import html as fragments
from drwlab.views.follow import REST, Follower
from drwlab.views.registry import TABLES
from drwlab.views.tables import board, read_table
from drwlab.wire import STATUS_DB

BOARD = "board"
STATUS_TABLE = "status-entities"

DOCK_TITLE = "drwlab board"
DOCKED_NOTE = (
    '<p class="drwlab-docked">The board is open in the side panel on the right '
    "(tab <b>drwlab board</b>): it stays in view while you scroll.</p>"
)

ROW_LIMIT = 50
"""Rows shown per live table (the rest is counted, not drawn)."""

Source = Store | Sandbox
"""What a view reads: a Store, or a Sandbox (its store, for as long as it runs)."""


def parts() -> dict[str, str]:
    """Every part a LiveView can show -> the database it reads: the board and each table."""
    return {BOARD: STATUS_DB} | {name: spec.db for name, spec in TABLES.items()}


def render_part(store: Store, name: str, *, narrow: bool = False) -> str:
    """The HTML of part ``name`` read from ``store`` now (``narrow``: the board in rows)."""
    if name == BOARD:
        draw = fragments.board_rows_html if narrow else fragments.board_html
        return draw(board(store))
    return fragments.spec_table(TABLES[name], read_table(store, name), limit=ROW_LIMIT)


def show(widget: Any) -> None:
    """Display ``widget`` where the cell's output goes (IPython ships no type hints)."""
    cast(Callable[[object], None], ipython_display.display)(widget)


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
.widget-html-content { line-height: 1.35; min-width: 0; }
.board th { font-size: .8em; white-space: nowrap; vertical-align: bottom; }
.board th .count { display: block; }
.board .card .uid { font-size: .8em; }
.board .card .small { font-size: .75em; }
"""
"""What JupyterLab's widget CSS needs on top of the dashboard's: it sets a 28 px line height,
and lets an HTML widget grow as wide as its content (``min-width: 0`` makes a board wider
than the cell scroll sideways instead of being cut off); the counts go under the state
names and the card's details are smaller, so that nine columns fit a 1,440-px window."""


def style_tag(scope: str = ".drwlab-live") -> str:
    """A ``<style>`` element with the dashboard's CSS, scoped to our widgets."""
    return f"<style>{scoped_style(fragments.STYLE + WIDGET_STYLE, scope)}</style>"


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


class LiveView:
    """The board and/or tables of a store as ipywidgets, kept up to date by a Follower.

    ``widget`` is the ipywidgets box to display (the view displays itself as
    that box in a notebook); ``parts`` maps each part name to its HTML widget.
    With a Sandbox as ``source`` the view ends when the sandbox stops. Build
    one with :func:`live_board` or :func:`live_tables`. ``rest`` is the least
    time between two redraws.
    """

    def __init__(
        self,
        source: Source,
        names: Sequence[str],
        *,
        rest: float = REST,
        title: str | None = None,
    ) -> None:
        known = parts()
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise ValueError(f"unknown or no parts {unknown!r}; choose from {sorted(known)}")
        self.source = source
        self.store = store_of(source)
        self.parts: dict[str, widgets.HTML] = {}
        for name in names:
            # the board is as wide as its cell and scrolls sideways, never breaking a word
            wide = {"width": "100%", "overflow": "auto"} if name == BOARD else {}
            part = widgets.HTML(value="", layout=widgets.Layout(**wide))
            part.add_class("drwlab-live-part")
            part.add_class(f"drwlab-live-{name}")
            self.parts[name] = part
        self.status = widgets.HTML(value="")
        self.status.add_class("drwlab-live-status")
        self.sidecar: Any = None
        self.widget = self._layout(title)
        self._reads = {name: known[name] for name in names}
        self._alive = alive_of(source)
        self.follower = Follower(
            self.store,
            sorted(set(self._reads.values())),
            self.refresh,
            name="drwlab-live-view",
            rest=rest,
            alive=self._alive,
            on_exit=self._end,
        )

    def _layout(self, title: str | None) -> Any:
        heading = [widgets.HTML(f"<h3>{fragments.esc(title)}</h3>")] if title else []
        tables_box = widgets.Box(
            [part for name, part in self.parts.items() if name != BOARD],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", gap="12px"),
        )
        board_part = [self.parts[BOARD]] if BOARD in self.parts else []
        box = widgets.VBox(
            [widgets.HTML(style_tag()), *heading, *board_part, tables_box, self.status]
        )
        box.add_class("drwlab-live")
        return box

    def __repr__(self) -> str:
        return f"LiveView({list(self.parts)}, {self.follower!r})"

    def refresh(self, changed: frozenset[str] | None = None) -> None:
        """Redraw the parts that read a database in ``changed`` (None: every part)."""
        for name, part in self.parts.items():
            if changed is None or self._reads[name] in changed:
                part.value = render_part(self.store, name, narrow=self.sidecar is not None)
        self.status.value = f'<span class="updated">updated {timestamp()} UTC</span>'

    @property
    def renders(self) -> int:
        """How many times the view has redrawn itself from its thread."""
        return self.follower.calls

    def start(self) -> LiveView:
        """Start following the store in the background; returns self."""
        self.follower.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop following (the widgets keep their last values); idempotent."""
        self.follower.stop(timeout)

    def _end(self) -> None:
        """The follower ended: say so; a docked view of a sandbox that stopped also closes
        its side panel, so that a notebook run again (a new sandbox, a new dock) shows one."""
        self.status.value = (
            f'<span class="updated">stopped at {timestamp()} UTC; values as of then</span>'
        )
        if self.sidecar is not None and self._alive is not None and not self._alive():
            self.sidecar.close()

    @property
    def running(self) -> bool:
        """True while the view follows the store."""
        return self.follower.running

    def dock(self, title: str) -> None:
        """Show the view in JupyterLab's side panel, titled ``title``, instead of in the cell."""
        from sidecar import Sidecar  # the lab extra; imported here, the only user

        panel = Sidecar(title=title)
        panel.add_class("drwlab-sidecar")
        with panel:
            show(self.widget)
        self.sidecar = panel  # from now on the board is drawn in rows: the panel is narrow

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, Any] | None:
        if self.sidecar is not None:
            return {"text/html": DOCKED_NOTE, "text/plain": "the board is in the side panel"}
        bundle: Mapping[str, Any] | None = self.widget._repr_mimebundle_(**kwargs)
        return bundle


def live_view(
    source: Source, names: Sequence[str], *, rest: float = REST, title: str | None = None
) -> LiveView:
    """A started LiveView of ``names`` of ``source`` (a Store or a Sandbox); see :func:`parts`.

    Asked again for the same (a cell run again), the one that runs is returned (``shown``)."""
    return SHOWN.view(
        source,
        ("view", tuple(names), title, rest),
        lambda: LiveView(source, names, rest=rest, title=title).start(),
    )


def live_board(source: Source, *, rest: float = REST, dock: bool = False) -> LiveView:
    """The OUSs in columns by state, with substate, executive and time, updating live.

    With ``dock`` the board opens in JupyterLab's side panel (a ``sidecar``), where
    it stays in view while the notebook scrolls; the cell then shows a note. Asked
    again (the cell run again), the board that runs is returned: one side panel.
    """

    def start() -> LiveView:
        view = LiveView(source, [BOARD], rest=rest)
        if dock:
            view.dock(DOCK_TITLE)
        return view.start()

    return SHOWN.view(source, ("board", dock, rest), start)


def live_tables(
    source: Source,
    names: Sequence[str] = (STATUS_TABLE, "unread-messages"),
    *,
    rest: float = REST,
    title: str | None = None,
) -> LiveView:
    """Live tables of ``source``; ``names`` from ``views.registry.TABLES`` (e.g. ``"ngas"``)."""
    return live_view(source, names, rest=rest, title=title)
