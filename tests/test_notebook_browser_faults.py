"""A learner runs notebook 05 (faults) in JupyterLab, in a real browser, at people's timings.

The same learner as ``test_notebook_browser.py`` (whose JupyterLab fixture and page helpers
this test reuses), on the notebook that breaks the sandbox on purpose: Run All with no
autopilot and no fast mode (a crash waits out a real 3-s lease, the store goes away for
3 s, runs take 3 to 8 s); then no output shows a traceback or stderr, no check shows ✔
before the learner acts, the live tables of the trace show each fault and the crashed
driver's request with its ``LeaseExpired``, the board still follows a fresh launch, the
dashboard answers, and re-queueing the dead letter by uncommenting its ``%load`` line gives ✔.

Screenshots after Run All: ``test-artifacts/learner-05-faults.png`` (the board) and
``learner-05-faults-2.png`` (the outage's warnings), ``learner-05-faults-3.png`` (the
faults' trace); the time of Run All goes to
``test-artifacts/learner-05-faults.json``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.test_notebook_browser import (
    ARTIFACTS,
    CELL_TIMEOUT_MS,
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
    lab,  # noqa: F401 - the JupyterLab fixture, shared
)

pytestmark = pytest.mark.browser

NOTEBOOK = "05-faults"
SOLVED = "05-requeue-dead-letter"
OUTAGE_TABLE = '.jp-OutputArea-output table:has(th:text-is("warnings"))'


def test_a_learner_breaks_the_sandbox_and_watches_it_heal(lab: Lab) -> None:  # noqa: F811
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
            _screenshot(page, NOTEBOOK, page.locator(".drwlab-live-board").first)
            _screenshot(page, f"{NOTEBOOK}-2", page.locator(OUTAGE_TABLE).first)
            _trace_shows_every_fault(page)

            assert requests.get(_urls(page)["dashboard"], timeout=10).status_code == 200
            _launch_from_a_fresh_cell(page)
            _board_shows(page, FRESH_OUS)

            _solve(page, SOLVED)
            _assert_quiet(page)
        finally:
            browser.close()
    (ARTIFACTS / f"learner-{NOTEBOOK}.json").write_text(json.dumps(figures, indent=1))


def _trace_shows_every_fault(page: Any) -> None:
    """The live tables of "Every fault leaves a trace": each fault by kind, and the request
    the crashed driver held, with the lease that ran out."""
    faults = page.locator(".drwlab-live-fault-events").first
    faults.scroll_into_view_if_needed(timeout=CELL_TIMEOUT_MS)
    for kind in ("crash", "original-consumer", "outage"):
        faults.get_by_text(kind, exact=True).first.wait_for(timeout=CELL_TIMEOUT_MS)
    retried = page.locator(".drwlab-live-retried-messages").first
    retried.get_by_text("LeaseExpired").first.wait_for(timeout=CELL_TIMEOUT_MS)
    _screenshot(page, f"{NOTEBOOK}-3", faults)
