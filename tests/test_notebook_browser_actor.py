"""A learner runs notebook 06 (your own actor) in JupyterLab, in a real browser, at people's
timings, as ``test_notebook_browser`` does for 01-04 (whose JupyterLab, Run All and checks
this test reuses).

After Run All, with no autopilot and no fast mode: no output area shows a traceback or
stderr; both exercise checks show ✘ (nothing is solved for the learner); the board shows
the six OUSs the notebook's actor assigned, on both executives, and still updates when an
OUS is launched from a fresh cell; the dashboard answers. Then the learner uncomments the
``%load`` line of the QA2-rule exercise, runs the loaded solution and its check: ✔.
The screenshot after Run All is ``test-artifacts/learner-06-your-actor.png``, the measured
Run All time ``test-artifacts/learner-06-your-actor.json``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.test_notebook_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FRESH_OUS,
    PASSED_LINE,
    VIEWPORT,
    Lab,
    _assert_quiet,
    _board_shows,
    _check_lines,
    _launch_from_a_fresh_cell,
    _open,
    _run_all,
    _screenshot,
    _solve,
    _urls,
    lab,
)

NOTEBOOK = "06-your-actor"
SOLVED = "06-your-rule"
ASSIGNED = [f"uid://X1/X1/Xb{n}" for n in range(6)]

__all__ = ["lab"]  # the fixture, imported to be used here

pytestmark = pytest.mark.browser


def _executives_on_the_board(board: Any) -> set[str]:
    """The executives the board's cards show for the OUSs the notebook's actor assigned."""
    shown = set()
    for uid in ASSIGNED:
        card = board.locator(f'div.card[data-uid="{uid}"]').first
        card.wait_for()
        words = (card.locator("span.small").first.text_content() or "").split()
        shown |= {executive for executive in ("EU", "NA") if executive in words}
    return shown


def test_a_learner_adds_an_actor_and_a_qa2_rule_at_peoples_timings(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    figures: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            _open(page, lab, NOTEBOOK)
            figures["run_all_seconds"] = round(_run_all(page), 1)
            _assert_quiet(page)
            checks = _check_lines(page)
            assert len(checks) == 2, checks
            assert not any(PASSED_LINE.search(line) for line in checks), checks

            board = page.locator(".drwlab-live-board").first
            assert _executives_on_the_board(board) == {"EU", "NA"}
            _screenshot(page, NOTEBOOK, board)
            assert requests.get(_urls(page)["dashboard"], timeout=10).status_code == 200

            _launch_from_a_fresh_cell(page)
            _board_shows(page, FRESH_OUS)
            _solve(page, SOLVED)
            _assert_quiet(page)
        finally:
            browser.close()
    (ARTIFACTS / f"learner-{NOTEBOOK}.json").write_text(json.dumps(figures, indent=1))
