"""Live pictures: the system map, one OUS's message sequence and the state timeline as widgets.

A :class:`LivePicture` is one ``widgets.HTML`` holding an SVG drawn by a pure
renderer of ``drwlab.views`` from the store, redrawn by a
``views.follow.Follower`` when a database it draws from changes (the one way
views follow changes: no polling timer), from the follower's thread, so the
picture moves without running a cell. With a Sandbox as source it ends when
the sandbox stops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from drwlab.lifecycle import State
from drwlab.notebook.live import Source, alive_of, store_of
from drwlab.notebook.shown import SHOWN
from drwlab.sandbox import Sandbox
from drwlab.store.base import Store
from drwlab.views.analysis import arrows, ous_messages
from drwlab.views.follow import REST, Follower
from drwlab.views.sequence import sequence_svg
from drwlab.views.system_map import selector_counts, stage_actors, system_map_svg
from drwlab.views.tables import message_counts, state_history
from drwlab.views.timeline import timeline_svg
from drwlab.wire import MSGQ, STATUS_DB

FIT_TO_CELL = (
    "<style>.drwlab-picture > .widget-html-content { min-width: 0; overflow-x: auto; }</style>"
)
"""A picture wider than its cell scrolls sideways, at full size: never cut off, never shrunk
(ipywidgets lets an HTML widget's content grow as wide as it is, then clips it)."""

Draw = Callable[[Store], str]
"""A picture's renderer: the store in, SVG or HTML out."""


class LivePicture:
    """A picture of ``source`` drawn by ``draw``, redrawn when one of ``databases`` changes.

    ``widget`` is the ``widgets.HTML`` to display (the picture displays itself
    as it); ``css_class`` names it in the page (for browser tests and styles).
    """

    def __init__(
        self,
        source: Source,
        databases: Sequence[str],
        draw: Draw,
        *,
        css_class: str,
        rest: float = REST,
    ) -> None:
        self.source = source
        self.store = store_of(source)
        self.draw = draw
        self.widget = widgets.HTML(value="", layout=widgets.Layout(width="100%"))
        self.widget.add_class("drwlab-picture")
        self.widget.add_class(css_class)
        self.follower = Follower(
            self.store,
            list(databases),
            self.refresh,
            name=css_class,
            rest=rest,
            alive=alive_of(source),
        )

    def __repr__(self) -> str:
        return f"LivePicture({self.widget._dom_classes!r}, {self.follower!r})"

    def refresh(self, changed: frozenset[str] | None = None) -> None:
        """Redraw the picture from the store now (scrolling sideways if wider than the cell)."""
        self.widget.value = FIT_TO_CELL + self.draw(self.store)

    @property
    def renders(self) -> int:
        """How many times the picture has redrawn itself from its thread."""
        return self.follower.calls

    @property
    def running(self) -> bool:
        """True while the picture follows the store."""
        return self.follower.running

    def start(self) -> LivePicture:
        """Start following the store in the background; returns self."""
        self.follower.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop following (the picture keeps its last drawing); idempotent."""
        self.follower.stop(timeout)

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, Any] | None:
        bundle: Mapping[str, Any] | None = self.widget._repr_mimebundle_(**kwargs)
        return bundle


def live_sequence(source: Source, uid: str, *, rest: float = REST) -> LivePicture:
    """The messages about OUS ``uid`` as a sequence diagram, growing as messages arrive."""

    def draw(store: Store) -> str:
        return sequence_svg(arrows(ous_messages(store, uid)), title=f"messages of {uid}")

    return LivePicture(source, [MSGQ], draw, css_class="drwlab-live-sequence", rest=rest).start()


def live_timeline(source: Source, *, rest: float = REST) -> LivePicture:
    """Every OUS's states over time, one row each; states shorter than a second stay visible."""

    def draw(store: Store) -> str:
        return timeline_svg(state_history(store))

    return LivePicture(
        source, [STATUS_DB], draw, css_class="drwlab-live-timeline", rest=rest
    ).start()


def yours_running(source: Source) -> list[str]:
    """Names of the actors of your own a Sandbox runs: those whose class drwlab does not ship."""
    if not isinstance(source, Sandbox):
        return []
    return [
        name
        for name, actor in source.actors.items()
        if not type(actor).__module__.startswith("drwlab.")
    ]


def system_map(
    source: Source, highlight: State | str | None = None, *, rest: float = REST
) -> LivePicture:
    """The actors and the selectors between them, with live message counts; the actors
    of life-cycle stage ``highlight`` highlighted, and, on a Sandbox, the actors of your
    own it runs (``add_actor``), from the next redraw. Hover a box for what it does.
    Asked again for the same (a cell run again), the map that runs is returned."""
    actors = stage_actors(highlight)

    def draw(store: Store) -> str:
        counts = selector_counts(message_counts(store))
        return system_map_svg(counts, highlight=actors, yours=yours_running(source))

    return SHOWN.view(
        source,
        ("system-map", str(highlight), rest),
        lambda: LivePicture(source, [MSGQ], draw, css_class="drwlab-system-map", rest=rest).start(),
    )
