"""The dashboard in headless Chromium: an OUS walks across the board, live, without reloads.

Debian's Chromium driven by Playwright for Python (never ``playwright
install``). The page's screenshots are saved in ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab.lifecycle import State, Substate
from drwlab.store.base import Store
from drwlab.timeutil import timestamp
from drwlab.uids import uid_to_doc_id
from drwlab.views.dashboard import Dashboard
from drwlab.wire import MSGQ, STATUS_DB
from tests.views.wire import delivered_ous, message, status_doc

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UID = "uid://X1/X1/Xc0"
WALK: list[tuple[State, Substate | None]] = [
    (State.PROCESSING, None),
    (State.READY_FOR_REVIEW, None),
    (State.REVIEWING, None),
    (State.VERIFIED, None),
    (State.DELIVERY_IN_PROGRESS, Substate.INGESTION_TRIGGERED),
    (State.DELIVERY_IN_PROGRESS, Substate.PRODUCTS_INGESTED),
    (State.DELIVERED, None),
]


@pytest.fixture
def page() -> Iterator[Any]:
    """A fresh page of Debian's Chromium; requests outside loopback are recorded."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1500, "height": 900})
        finally:
            browser.close()


def card(page: Any, state: State, uid: str) -> Any:
    return page.locator(f'td[data-state="{state.value}"] .card[data-uid="{uid}"]')


def move(store: Store, uid: str, state: State, substate: Substate | None) -> None:
    """What the XTSS would write: the new state, its time and a history entry."""
    doc = store.get(STATUS_DB, uid_to_doc_id(uid))
    now = timestamp()
    entry = {"state": state.value, "substate": substate and substate.value, "timestamp": now}
    doc.update(state=state.value, substate=entry["substate"], timestamp=now)
    doc["history"] = [*doc["history"], dict(entry, actor="test")]
    store.put(STATUS_DB, doc)


def test_an_ous_moves_from_ready_for_processing_to_delivered_on_the_page(
    store: Store, page: Any, backend: str
) -> None:
    for i, uid in enumerate(["uid://X1/X1/Xa0", "uid://X1/X1/Xa1"]):
        delivered_ous(store, uid, start=i)
    store.put(STATUS_DB, status_doc(UID, [State.READY_FOR_PROCESSING], start=4))
    store.put(MSGQ, message("pipeline.process.EU", {"ousUID": UID}, at=4, sender="launcher"))
    links = {"EU cache": "http://127.0.0.1:9/", "EU weblogs": "http://127.0.0.1:9/weblogs/"}
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)

    with Dashboard(store, links=links) as dashboard:
        page.goto(dashboard.url)
        card(page, State.READY_FOR_PROCESSING, UID).wait_for(timeout=10_000)
        page.locator("#live", has_text="live").wait_for(timeout=10_000)
        page.evaluate("window.__sameDocument = true")

        for state, substate in WALK:
            move(store, UID, state, substate)
            shown = card(page, state, UID)
            if substate is not None:
                shown = shown.filter(has_text=substate.value)
            shown.wait_for(timeout=10_000)

        assert page.evaluate("window.__sameDocument") is True  # updated in place, no reload
        assert card(page, State.READY_FOR_PROCESSING, UID).count() == 0
        assert page.locator('td[data-state="Delivered"] .card').count() == 3
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{backend}.png"), full_page=True)
        if backend == "sqlite":
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert outside == []


RECORD_STATES = """
uid => {
  window.__states = [];
  const note = () => {
    const card = document.querySelector(`.card[data-uid="${uid}"]`);
    const state = card && card.closest("td").getAttribute("data-state");
    if (state && window.__states[window.__states.length - 1] !== state) window.__states.push(state);
  };
  note();
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true});
}
"""


def test_the_sandbox_dashboard_follows_a_real_run_to_delivered(
    store: Store, page: Any, tmp_path: Path, backend: str
) -> None:
    from drwlab.sandbox import Sandbox

    store.put(STATUS_DB, status_doc(UID, [State.READY_FOR_PROCESSING]))
    with Sandbox(store, tmp_path, time_scale=0, seed=1, failure_rate=0, autopilot=False) as sb:
        page.goto(sb.urls["dashboard"])
        card(page, State.READY_FOR_PROCESSING, UID).wait_for(timeout=10_000)
        page.locator("#live", has_text="live").wait_for(timeout=10_000)
        page.evaluate(RECORD_STATES, UID)

        sb.launch("2015.1.00657.S", UID)
        card(page, State.READY_FOR_REVIEW, UID).wait_for(timeout=60_000)
        sb.qa2.review(UID)
        card(page, State.REVIEWING, UID).wait_for(timeout=10_000)
        sb.qa2.decide(UID, "Pass")
        card(page, State.DELIVERED, UID).wait_for(timeout=60_000)

        seen = page.evaluate("window.__states")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"dashboard-sandbox-{backend}.png"), full_page=True)
    assert seen[0] == "ReadyForProcessing" and seen[-1] == "Delivered"
    assert {"ReadyForReview", "Reviewing"} <= set(seen)
    assert page.locator(".card").count() == 1
