"""The QA2 review panel does what AQUA QA2 does, through the review API, and shows its errors."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drwlab import Sandbox
from drwlab.lifecycle import QA2Flag
from drwlab.notebook import wait_for_weblog
from drwlab.notebook.qa2_panel import FLAG_CLASSES, QA2Panel, qa2_panel
from drwlab.views.html import weblog_frame

PROG = "2015.1.00657.S"
DEADLINE = 30.0
_numbers = itertools.count(1)


def wait_until(condition: Callable[[], object], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def manual_sandbox(workdir: Path) -> Sandbox:
    """A fast sandbox where AQUA never decides by itself, even under DRWLAB_AUTOPILOT=1
    (which ``./dev test`` sets): the panel's clicks are the only decisions."""
    sandbox = Sandbox(workdir=workdir, time_scale=0.0, seed=3, failure_rate=0.0, start=False)
    sandbox.autopilot = None
    return sandbox.start()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One fast sandbox for the module (each test uses OUSs of its own)."""
    with manual_sandbox(tmp_path_factory.mktemp("qa2-panel")) as running:
        yield running


@pytest.fixture
def panel(sandbox: Sandbox) -> Iterator[QA2Panel]:
    made = qa2_panel(sandbox, rest=0.05)
    yield made
    made.stop()


def ready_ous(sandbox: Sandbox) -> str:
    """A new OUS in ReadyForReview with its weblog at JAO."""
    uid = f"uid://X1/X2/X{next(_numbers)}"
    sandbox.launch(PROG, uid)
    sandbox.wait_for(uid, "ReadyForReview", timeout=DEADLINE)
    wait_for_weblog(sandbox, uid, timeout=DEADLINE)
    return uid


def review_in(panel: QA2Panel, uid: str) -> None:
    wait_until(lambda: uid in panel.ready.options)
    panel.select(uid)
    panel.review_button.click()


def state_of(sandbox: Sandbox, uid: str) -> str:
    return str(sandbox.entity(uid)["state"])


def test_the_list_shows_ouss_as_they_reach_ready_for_review(
    sandbox: Sandbox, panel: QA2Panel
) -> None:
    uid = ready_ous(sandbox)
    wait_until(lambda: uid in panel.ready.options)
    assert not panel.review_button.disabled


def test_review_shows_the_qa_scores_and_the_weblog(sandbox: Sandbox, panel: QA2Panel) -> None:
    uid = ready_ous(sandbox)
    review_in(panel, uid)
    assert state_of(sandbox, uid) == "Reviewing"
    assert panel.reviewing == uid
    report = sandbox.qa2.latest_report(uid)
    assert report is not None
    assert "QA scores" in panel.scores.value
    assert "hifa_importdata" in panel.scores.value
    assert "<iframe" in panel.weblog.value and "srcdoc=" in panel.weblog.value
    assert "Pipeline weblog: uid://X1/X2/" in panel.weblog.value
    assert sandbox.urls["cache.JAO"] in panel.link.value
    assert all(not button.disabled for button in panel.buttons.values())
    panel.buttons[QA2Flag.CANCEL].click()


@pytest.mark.parametrize(
    ("flag", "after"),
    [
        (QA2Flag.PASS, "Delivered"),
        (QA2Flag.SEMIPASS, "Delivered"),
        (QA2Flag.FAIL, "ReadyForProcessing"),
        (QA2Flag.CANCEL, "ReadyForReview"),
    ],
)
def test_each_button_does_what_aqua_qa2_does(
    sandbox: Sandbox, panel: QA2Panel, flag: QA2Flag, after: str
) -> None:
    uid = ready_ous(sandbox)
    review_in(panel, uid)
    panel.buttons[flag].click()
    sandbox.wait_for(uid, after, timeout=DEADLINE)
    assert panel.reviewing is None
    assert panel.decisions[-1] == (uid, flag.value)
    assert "error" not in panel.message.value
    if flag is QA2Flag.CANCEL:
        wait_until(lambda: uid in panel.ready.options)  # back in the list, to review again
    history = [entry["state"] for entry in sandbox.entity(uid)["history"]]
    assert "Reviewing" in history


def test_deciding_twice_is_told_in_the_panel(sandbox: Sandbox, panel: QA2Panel) -> None:
    uid = ready_ous(sandbox)
    review_in(panel, uid)
    panel.pass_button.click()
    panel.pass_button.click()  # no traceback: a message
    assert "no OUS is under review" in panel.message.value
    sandbox.wait_for(uid, "Delivered", timeout=DEADLINE)


def test_a_decision_on_an_ous_decided_elsewhere_is_told_in_the_panel(
    sandbox: Sandbox, panel: QA2Panel
) -> None:
    uid = ready_ous(sandbox)
    review_in(panel, uid)
    sandbox.qa2.decide(uid, "Cancel")  # someone else, behind the panel's back
    panel.buttons[QA2Flag.FAIL].click()
    assert "ReviewError" in panel.message.value
    assert "not Reviewing" in panel.message.value
    assert state_of(sandbox, uid) == "ReadyForReview"


def test_reviewing_an_ous_that_left_review_is_told_in_the_panel(sandbox: Sandbox) -> None:
    uid = ready_ous(sandbox)
    still = QA2Panel(sandbox.qa2)  # no store to follow: its list goes stale
    assert uid in still.ready.options
    sandbox.qa2.review(uid)  # another reviewer took it
    still.select(uid)
    still.review_button.click()
    assert "ReviewError" in still.message.value
    assert still.reviewing is None
    sandbox.qa2.decide(uid, "Cancel")


def test_every_control_carries_a_class_for_browser_tests(panel: QA2Panel) -> None:
    for flag, css in FLAG_CLASSES.items():
        assert css in panel.buttons[flag]._dom_classes
    assert "drwlab-qa2-review" in panel.review_button._dom_classes
    assert "drwlab-qa2-ready" in panel.ready._dom_classes
    assert "drwlab-qa2-message" in panel.message._dom_classes
    assert "drwlab-qa2-panel" in panel.widget._dom_classes


def test_stopping_the_sandbox_stops_the_panel_follower(tmp_path: Path) -> None:
    with manual_sandbox(tmp_path) as sandbox:
        made = qa2_panel(sandbox, rest=0.05)
        assert made.follower is not None and made.follower.running
    wait_until(lambda: made.follower is not None and made.follower.finished, timeout=2.0)


def test_a_panel_asked_for_again_is_the_one_that_runs(tmp_path: Path) -> None:
    """A learner runs the panel's cell again: the same panel, its decisions kept, one
    thread refreshing it; once the sandbox stops, a new sandbox gets a new panel."""
    with manual_sandbox(tmp_path / "first") as sandbox:
        made = qa2_panel(sandbox, rest=0.05)
        assert qa2_panel(sandbox, rest=0.05) is made
        made.stop()  # stopped by hand: the cell run again starts a new one
        again = qa2_panel(sandbox, rest=0.05)
        assert again is not made and again.running
    with manual_sandbox(tmp_path / "second") as other:
        assert qa2_panel(other, rest=0.05) is not again


def test_the_inline_weblog_is_escaped_and_runs_no_scripts() -> None:
    frame = weblog_frame('<html><head></head><body>"<script>x()</script>"</body></html>')
    assert frame.startswith('<div class="drwlab-weblog-frame"><iframe class="drwlab-weblog"')
    assert "<script>" not in frame
    assert 'sandbox="allow-popups' in frame and "allow-scripts" not in frame
