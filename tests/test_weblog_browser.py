"""The weblog shown inline, as a notebook shows it (an ``<iframe srcdoc>`` with no server
behind it), in headless Chromium: its stage links move to the stage, and the plots draw."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab.weblog import render_weblog_index
from tests.test_weblog import a_report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip


@pytest.fixture
def page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 800})
        finally:
            browser.close()


def test_a_stage_clicked_inline_opens_its_plot_in_place(page: Any) -> None:
    srcdoc = html.escape(render_weblog_index(a_report()), quote=True)
    page.set_content(
        f'<iframe srcdoc="{srcdoc}" sandbox="allow-popups allow-popups-to-escape-sandbox" '
        'style="width: 100%; height: 300px"></iframe>'
    )
    frame = page.frame_locator("iframe")
    plot = frame.locator("#stage3 svg.stage-plot")
    assert frame.locator("#stage2 svg.stage-plot").is_visible()  # the red stage is open
    assert not plot.is_visible()
    frame.locator("#stage3 summary").click()
    plot.wait_for(state="visible")
    assert page.frames[1].url == "about:srcdoc"  # opened in place, no navigation
    assert plot.locator("rect").count() == 16
    frame.locator("#stage3 summary").click()
    plot.wait_for(state="hidden")
