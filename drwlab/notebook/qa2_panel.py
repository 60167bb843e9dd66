"""The QA2 review panel: AQUA QA2's text interface as ipywidgets, on the QA2 review API only.

The panel lists the OUSs ready for review (``qa2.ready_for_review()``);
**Review** calls ``qa2.review(uid)`` (the OUS goes to Reviewing) and shows the
pipeline report's QA scores, the weblog inline (the expanded weblog's
``index.html`` in an ``<iframe srcdoc>``, which works on a remote Jupyter too)
and a link to the weblog served by the JAO cache; **Pass**, **SemiPass**,
**Fail** and **Cancel** each call ``qa2.decide(uid, flag)``. The panel holds
no workflow logic of its own: a test calling the same methods gets the same
result. Errors the API raises (deciding twice, an OUS that left review, a
timeout) are shown in the panel's message area, never as a traceback.

A ``views.follow.Follower`` re-reads the list whenever what it is made of
changes (the status entities and the pipeline reports: AQUA lists an OUS once
it is in ReadyForReview *and* its run's report is stored), through the change
feeds, no polling, so OUSs appear as they become reviewable. Every widget has
a ``drwlab-qa2-*`` CSS class so that browser tests can find it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import ipywidgets as widgets
import pandas as pd

from drwlab.actors.aqua_qa2 import Review
from drwlab.errors import DrwlabError
from drwlab.lifecycle import QA2Flag
from drwlab.notebook.live import alive_of, style_tag
from drwlab.notebook.shown import SHOWN
from drwlab.sandbox import Sandbox
from drwlab.store.base import Store
from drwlab.views import html as fragments
from drwlab.views.follow import REST, Follower
from drwlab.views.html import served_frame, weblog_frame, weblog_link
from drwlab.wire import REPORTS_DB, STATUS_DB

log = logging.getLogger(__name__)

FLAG_CLASSES: dict[QA2Flag, str] = {
    QA2Flag.PASS: "drwlab-qa2-pass",
    QA2Flag.SEMIPASS: "drwlab-qa2-semipass",
    QA2Flag.FAIL: "drwlab-qa2-fail",
    QA2Flag.CANCEL: "drwlab-qa2-cancel",
}
_BUTTON_STYLES: dict[QA2Flag, str] = {
    QA2Flag.PASS: "success",
    QA2Flag.SEMIPASS: "info",
    QA2Flag.FAIL: "danger",
    QA2Flag.CANCEL: "",
}


class ReviewAPI(Protocol):
    """What the panel needs of AquaQA2: the same three calls a test makes."""

    def ready_for_review(self) -> Sequence[Mapping[str, Any]]: ...

    def review(self, uid: str) -> Review: ...

    def decide(self, uid: str, flag: str) -> Mapping[str, Any]: ...


def scores_html(review: Review) -> str:
    """The report's QA scores (stage, task, score) as an escaped HTML table."""
    report = review.report
    rows = [{"stage": s.stage, "name": s.name, "score": f"{s.score:.2f}"} for s in report.scores]
    table = pd.DataFrame(rows, columns=["stage", "name", "score"], dtype=object)
    headers = {"stage": "Stage", "name": "Task", "score": "QA score"}
    caption = f"QA scores (overall {report.overall:.2f})"
    details = (
        "<details><summary>Pipeline report (XML)</summary>"
        f"<pre>{fragments.esc(review.report_xml)}</pre></details>"
    )
    return fragments.table_html(table, caption=caption, headers=headers) + details


def weblog_index(path: Path | str | None) -> str | None:
    """The text of the expanded weblog's ``index.html`` (``path`` is its folder or the
    file itself); None when it cannot be read."""
    if path is None:
        return None
    index = Path(path)
    if index.is_dir():
        index = index / "index.html"
    try:
        return index.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        log.info("weblog not readable at %s: %s", index, error)
        return None


def _button(description: str, css_class: str, style: str = "", disabled: bool = False) -> Any:
    button = widgets.Button(description=description, button_style=style, disabled=disabled)
    button.add_class(css_class)
    return button


def _html(css_class: str, value: str = "") -> Any:
    part = widgets.HTML(value=value)
    part.add_class(css_class)
    return part


class QA2Panel:
    """AQUA QA2 as widgets: choose an OUS, review it, decide. Display ``panel`` itself.

    Parameters
    ----------
    qa2:
        The AquaQA2 actor (anything with ready_for_review/review/decide).
    store:
        The store whose status-entity and report changes refresh the list; without
        it the list refreshes only on **Refresh** and after each decision.
    rest:
        Least seconds between two refreshes of the list.
    alive:
        While it returns True the list refreshes (a Sandbox's ``running``).
    source:
        What the panel was made for (a Sandbox), so that a cell run again shows
        this panel again instead of starting a second one (``notebook.shown``).
    """

    def __init__(
        self,
        qa2: ReviewAPI,
        store: Store | None = None,
        *,
        rest: float = REST,
        alive: Callable[[], bool] | None = None,
        source: object = None,
    ) -> None:
        self.qa2 = qa2
        self.source = source
        self.current: Review | None = None
        self.decisions: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self.ready = widgets.Select(options=[], rows=6, description="Ready", disabled=False)
        self.ready.add_class("drwlab-qa2-ready")
        self.refresh_button = _button("Refresh", "drwlab-qa2-refresh")
        self.review_button = _button("Review", "drwlab-qa2-review", "primary")
        self.buttons = {
            flag: _button(flag.value, css, _BUTTON_STYLES[flag], disabled=True)
            for flag, css in FLAG_CLASSES.items()
        }
        self.message = _html("drwlab-qa2-message")
        self.heading = _html("drwlab-qa2-current", "<b>No OUS under review.</b>")
        self.scores = _html("drwlab-qa2-scores")
        self.weblog = _html("drwlab-qa2-weblog")
        self.link = _html("drwlab-qa2-weblog-link")
        self.refresh_button.on_click(lambda _: self._guard(self.refresh_list))
        self.review_button.on_click(lambda _: self._guard(self._review_selected))
        for flag, button in self.buttons.items():
            button.on_click(self._decider(flag))
        self.widget = self._layout()
        self.follower: Follower | None = None
        if store is not None:
            self.follower = Follower(
                store,
                [STATUS_DB, REPORTS_DB],  # what ready_for_review() reads
                lambda _changed: self.refresh_list(),
                name="drwlab-qa2-panel",
                rest=rest,
                alive=alive,
            )
        self.refresh_list()

    def _layout(self) -> Any:
        box = widgets.VBox(
            [
                widgets.HTML(style_tag(".drwlab-qa2-panel")),
                widgets.HTML("<h3>AQUA QA2 review</h3>"),
                widgets.HBox([self.ready, widgets.VBox([self.review_button, self.refresh_button])]),
                self.heading,
                widgets.HBox(list(self.buttons.values())),
                self.message,
                self.scores,
                self.link,
                self.weblog,
            ]
        )
        box.add_class("drwlab-qa2-panel")
        return box

    def __repr__(self) -> str:
        return f"QA2Panel(ready={list(self.ready.options)}, reviewing={self.reviewing!r})"

    # -- what the buttons do ---------------------------------------------------------
    @property
    def pass_button(self) -> Any:
        """The **Pass** button (``panel.pass_button.click()`` presses it from code)."""
        return self.buttons[QA2Flag.PASS]

    @property
    def reviewing(self) -> str | None:
        """The uid of the OUS under review in this panel, if any."""
        return None if self.current is None else str(self.current.uid)

    def select(self, uid: str) -> None:
        """Choose ``uid`` in the list (as a click on it would); ValueError if not listed."""
        if uid not in self.ready.options:
            raise ValueError(f"{uid} is not in the list of OUSs ready for review")
        self.ready.value = uid

    def refresh_list(self) -> None:
        """Re-read the OUSs ready for review, keeping the selection if still there."""
        uids = [str(entity["entityId"]) for entity in self.qa2.ready_for_review()]
        with self._lock:
            if list(self.ready.options) != uids:
                chosen = self.ready.value
                self.ready.options = uids
                self.ready.value = chosen if chosen in uids else (uids[0] if uids else None)
            self.review_button.disabled = not uids

    def _review_selected(self) -> None:
        uid = self.ready.value
        if not uid:
            self._say("Choose an OUS in the list first.", error=True)
            return
        if self.current is not None:
            self._say(f"Decide on {self.reviewing} (or Cancel) before reviewing another OUS.", True)
            return
        review = self.qa2.review(uid)
        with self._lock:
            self.current = review
            self._show(review)
        self._say(f"{uid} is now Reviewing: read the scores and the weblog, then decide.")
        self.refresh_list()

    def _show(self, review: Review) -> None:
        self.heading.value = f"<b>Reviewing {fragments.esc(review.uid)}</b>"
        self.scores.value = scores_html(review)
        url = review.weblog_url
        page = weblog_index(review.weblog_path)
        self.link.value = weblog_link(url)
        self.weblog.value = (
            weblog_frame(page, url)
            if page
            else served_frame(url)  # no JAO cache here (a learner in a class): the served one
            if url
            else '<p class="empty">The weblog has not reached the JAO cache yet.</p>'
        )
        for button in self.buttons.values():
            button.disabled = False

    def _clear(self) -> None:
        self.current = None
        self.heading.value = "<b>No OUS under review.</b>"
        self.scores.value = self.weblog.value = self.link.value = ""
        for button in self.buttons.values():
            button.disabled = True

    def decide(self, flag: QA2Flag | str) -> None:
        """Decide on the OUS under review (what the Pass/SemiPass/Fail/Cancel buttons do)."""
        flag = QA2Flag(flag)
        if self.current is None:
            self._say(f"{flag.value}: no OUS is under review; choose one and press Review.", True)
            return
        uid = str(self.current.uid)
        try:
            self.qa2.decide(uid, flag.value)
        finally:
            with self._lock:
                self._clear()
        self.decisions.append((uid, flag.value))
        self._say(f"{uid}: {flag.value} sent to AQUA QA2.")
        self.refresh_list()

    def _decider(self, flag: QA2Flag) -> Callable[[Any], None]:
        return lambda _button: self._guard(lambda: self.decide(flag))

    def _guard(self, action: Callable[[], None]) -> None:
        """Run a button's action; an error of the review API goes to the message area."""
        try:
            action()
        except (DrwlabError, ValueError, OSError) as error:
            log.info("QA2 panel: %s", error)
            self._say(f"{type(error).__name__}: {error}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        css = "error" if error else "small"
        self.message.value = f'<span class="{css}">{fragments.esc(text)}</span>'

    # -- lifetime ------------------------------------------------------------------------
    def start(self) -> QA2Panel:
        """Refresh the list in the background as OUSs reach ReadyForReview; returns self."""
        if self.follower is not None:
            self.follower.start()
        return self

    @property
    def running(self) -> bool:
        """True while the list refreshes by itself."""
        return self.follower is not None and self.follower.running

    def stop(self, timeout: float = 2.0) -> None:
        """Stop refreshing the list (the buttons keep working); idempotent."""
        if self.follower is not None:
            self.follower.stop(timeout)

    def _repr_mimebundle_(self, **kwargs: Any) -> Mapping[str, Any] | None:
        bundle: Mapping[str, Any] | None = self.widget._repr_mimebundle_(**kwargs)
        return bundle


def qa2_panel(sandbox: Sandbox, *, rest: float = REST) -> QA2Panel:
    """A started panel on ``sandbox.qa2``, its list refreshed from ``sandbox.store`` for
    as long as the sandbox runs.

    Asked again for the same sandbox (the cell run again), the panel that runs is
    returned: its decisions so far kept, one thread refreshing it, not two.
    """
    return SHOWN.view(
        sandbox,
        ("qa2-panel", rest),
        lambda: QA2Panel(
            sandbox.qa2, sandbox.store, rest=rest, alive=alive_of(sandbox), source=sandbox
        ).start(),
    )
