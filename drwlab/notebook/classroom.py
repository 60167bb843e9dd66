"""The class as one system in a notebook: the instructor's live table, a learner's QA2 seat.

Instructor::

    sb = nb.host_class("http://10.0.0.5:5984", host="10.0.0.5")   # the workflow, once
    nb.class_reviews(sb)          # live: OUS, reviewer, decision, times

Learner::

    seat = nb.join_class("http://10.0.0.5:5984", reviewer="ana", cache_url=...)
    seat                          # the QA2 panel on the class's OUSs

The seat's panel is the same ``QA2Panel`` as a sandbox's: its buttons call the
learner's AQUA, so a Review another learner won shows who has the OUS in the
panel's message line. The live table is ``drwlab.classroom.reviews`` drawn with
the same HTML table renderer as the live tables, redrawn by a ``Follower`` on
the status entities (no polling).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from drwlab import classroom
from drwlab.classroom import REVIEW_HEADERS, Learner, host_class, reviews
from drwlab.notebook.live import Source, alive_of, store_of, style_tag
from drwlab.notebook.qa2_panel import QA2Panel
from drwlab.store import Store
from drwlab.timeutil import timestamp
from drwlab.views import html as fragments
from drwlab.views.follow import REST, Follower
from drwlab.wire import STATUS_DB

CAPTION = "Who reviewed what"

__all__ = ["ClassReviews", "Seat", "class_reviews", "host_class", "join_class", "reviews_html"]


def reviews_html(store: Store) -> str:
    """The instructor's table as HTML, read from ``store`` now."""
    return fragments.table_html(reviews(store), caption=CAPTION, headers=REVIEW_HEADERS)


class ClassReviews:
    """The instructor's live table of reviews (display it); ends with a Sandbox source."""

    def __init__(self, source: Source, *, rest: float = REST) -> None:
        self.store = store_of(source)
        self.table = widgets.HTML(value="")
        self.table.add_class("drwlab-class-reviews")
        self.status = widgets.HTML(value="")
        self.widget = widgets.VBox([widgets.HTML(style_tag()), self.table, self.status])
        self.widget.add_class("drwlab-live")
        self.follower = Follower(
            self.store,
            [STATUS_DB],
            lambda _changed: self.refresh(),
            name="drwlab-class-reviews",
            rest=rest,
            alive=alive_of(source),
        )

    def refresh(self) -> None:
        """Redraw the table from the store now."""
        self.table.value = reviews_html(self.store)
        self.status.value = f'<span class="updated">updated {timestamp()} UTC</span>'

    def start(self) -> ClassReviews:
        """Follow the status entities in the background; returns self."""
        self.follower.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop following (the table keeps its last rows); idempotent."""
        self.follower.stop(timeout)

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, Any] | None:
        bundle: Mapping[str, Any] | None = self.widget._repr_mimebundle_(**kwargs)
        return bundle


def class_reviews(source: Source, *, rest: float = REST) -> ClassReviews:
    """A started live table of who reviewed what in the class on ``source``."""
    return ClassReviews(source, rest=rest).start()


class Seat:
    """A learner in the class: ``learner`` (their AQUA, maybe a driver) and ``panel``
    (the QA2 panel on it). Displays as the panel; ``stop()`` leaves the class."""

    def __init__(self, learner: Learner, panel: QA2Panel) -> None:
        self.learner = learner
        self.panel = panel

    def __repr__(self) -> str:
        return f"Seat({self.learner!r}, {self.panel!r})"

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the panel's refreshes and the learner's actors; idempotent."""
        self.panel.stop(timeout)
        self.learner.stop(timeout)

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, Any] | None:
        return self.panel._repr_mimebundle_(**kwargs)


def join_class(
    store: Store | str,
    reviewer: str,
    *,
    cache_url: str | None = None,
    driver_cache: Path | None = None,
    rest: float = REST,
) -> Seat:
    """Join the class on ``store`` as ``reviewer`` and show the QA2 panel on its OUSs
    (``drwlab.classroom.join_class`` for the options)."""
    learner = classroom.join_class(store, reviewer, cache_url=cache_url, driver_cache=driver_cache)
    try:
        panel = QA2Panel(learner.qa2, learner.store, rest=rest, alive=lambda: learner.running)
    except BaseException:
        learner.stop()
        raise
    return Seat(learner, panel.start())
