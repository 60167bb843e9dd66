"""A learner runs each notebook in JupyterLab, in a real browser, at people's timings.

The test starts its own JupyterLab (loopback, token, fresh workspace and settings, no news)
on a copy of the notebooks folder (with its ``solutions/``), at the sandbox's real timings
and *without* the autopilot, as a person would. Headless Chromium (Debian's, driven by
Playwright) runs all cells from the menu; then the test checks what the learner sees:

- no output area shows a traceback or stderr;
- no exercise check shows ✔ before the learner acts (each shows its ✘ line);
- the sandbox is still alive: an OUS launched from a fresh cell appears on the board
  without re-running it, and the dashboard and weblog links answer 200;
- uncommenting one exercise's ``%load`` line, running the loaded solution and its check
  cell gives ✔;
- in 03, Review and Pass clicked in the QA2 panel take the OUS to Delivered.

Screenshots after Run All go to ``test-artifacts/learner-<notebook>.png``, and the measured
times (Run All, QA2 click to Delivered) to ``test-artifacts/learner-<notebook>.json``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
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
YOURS = "uid://X1/X1/Xb0"
FRESH_OUS = "uid://X1/X1/Xf0"
START_TIMEOUT = 90.0
RUN_ALL_TIMEOUT_MS = 240_000
CELL_TIMEOUT_MS = 150_000
DELIVERY_TIMEOUT = 120.0
VIEWPORT = {"width": 1440, "height": 1000}

# The exercise the learner solves in each notebook (by uncommenting its %load line).
SOLVED = {
    "01-bus": "01-flaky-handler",
    "02-pipeline": "02-jao-products",
    "03-qa2": "03-decide-twice",
    "04-delivery": "04-metadata-ids",
}
# More pictures per notebook, of what it is about (the board is the first of each).
PICTURES = {
    "01-bus": (".drwlab-system-map", ".drwlab-live-sequence"),
    "02-pipeline": (".drwlab-live-sequence", "iframe.drwlab-weblog"),
    "03-qa2": (".jp-OutputArea-output table.qa-scores",),
    "04-delivery": (".drwlab-live-timeline", "iframe.drwlab-weblog"),
}
DOCKED = {"02-pipeline"}
"""The notebooks whose board docks in JupyterLab's side panel (``nb.live_board(sb, dock=True)``)."""
LINKS = ".jp-OutputArea-output .drwlab-links a"
"""The sandbox's links, shown by ``nb.links(sb)`` in the notebook's last output."""
WRAPPED = """elements => elements.filter(element => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return range.getClientRects().length > 1;
}).map(element => element.textContent)"""
"""The texts among ``elements`` that the browser broke over more than one line."""
CUT_OFF = """pictures => pictures.filter(picture => {
    const svg = picture.querySelector("svg");
    const content = picture.querySelector(".widget-html-content");
    if (!svg || !content) return false;
    const right = picture.getBoundingClientRect().right + 1;
    const fits = svg.getBoundingClientRect().right <= right;
    const scrolls = getComputedStyle(content).overflowX === "auto"
        && content.getBoundingClientRect().right <= right;
    return !fits && !scrolls;
}).map(picture => picture.className)"""
"""The live pictures among ``pictures`` that stick out of the cell, cut off (not scrolling)."""
SCROLL_AND_MEASURE = """element => new Promise(done => {
    element.scrollIntoView({block: "center"});
    requestAnimationFrame(() => requestAnimationFrame(
        () => done(element.getBoundingClientRect().top)));
})"""
"""Scroll to an element; its place on screen once the page has drawn two frames."""
ECHO = re.compile(r"(np\.)?(True|False)_?|<[\w.]+ object at 0x[0-9a-f]+>|\w+\(.*\)", re.DOTALL)
"""An output that is only a value's repr: a bool, an object's default repr, a dataclass's."""
CHECK_LINE = re.compile(r"^[\u2714\u2718] \d\d-[a-z-]+: ", re.MULTILINE)
PASSED_LINE = re.compile(r"\u2714 \d\d-[a-z-]+: ")

pytestmark = pytest.mark.browser


@dataclass
class Lab:
    """A running JupyterLab: where to open the notebooks, and their folder."""

    url: str
    token: str
    folder: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lab_environment(home: Path) -> dict[str, str]:
    """People's settings: no autopilot, no fast mode."""
    unset = {"DRWLAB_AUTOPILOT", "DRWLAB_TIME_SCALE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONPATH=str(ROOT),
    )
    return env


def _wait_for_lab(url: str, token: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(f"{url}/api/status", params={"token": token}, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"JupyterLab did not answer within {START_TIMEOUT:g} s")


def _stop_lab(url: str, token: str, process: subprocess.Popen[bytes]) -> None:
    try:  # shuts its kernels down too (their exit hook stops the sandbox)
        requests.post(f"{url}/api/shutdown", params={"token": token}, timeout=10)
        process.wait(timeout=20)
    except (requests.RequestException, subprocess.TimeoutExpired):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def _no_news(settings_dir: Path) -> None:
    """JupyterLab 4.6 still asks about its news feed without this user setting."""
    folder = settings_dir / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True)
    setting = {"fetchNews": "false", "checkForUpdates": False}
    (folder / "notification.jupyterlab-settings").write_text(json.dumps(setting))


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab on a free loopback port, serving a copy of the notebooks and solutions."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(notebook, folder / notebook.name)
    shutil.copytree(NOTEBOOKS / "solutions", folder / "solutions")
    port, token = _free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--allow-root",
        f"--ServerApp.root_dir={folder}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    _no_news(tmp_path / "settings")
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=_lab_environment(tmp_path),
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_lab(url, token, process, log)
        yield Lab(url, token, folder)
    finally:
        _stop_lab(url, token, process)


def _open(page: Any, lab: Lab, notebook: str) -> None:
    """Open ``notebook`` in a fresh workspace and wait until its kernel is idle."""
    page.goto(f"{lab.url}/lab/tree/{notebook}.ipynb?token={lab.token}&reset")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    idle = page.locator(".jp-StatusBar-Item", has_text="(ipykernel) | Idle")
    idle.first.wait_for(timeout=60_000)


def _cell(page: Any, text: str) -> Any:
    """The notebook cell whose source holds ``text`` (scrolled into view: cells render lazily)."""
    cell = page.locator(".jp-Notebook .jp-Cell", has_text=text).first
    cell.scroll_into_view_if_needed()
    return cell


def _run_cell(page: Any, cell: Any) -> None:
    """Run ``cell`` in place, as Ctrl+Enter does."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")


def _run_all(page: Any) -> float:
    """Run All from the menu; the seconds until the last cell that does something has run."""
    started = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
    page.locator(LINKS).first.wait_for(state="attached", timeout=RUN_ALL_TIMEOUT_MS)
    return time.monotonic() - started


def _urls(page: Any) -> dict[str, str]:
    """The sandbox's links, read from the notebook's last output (``nb.links(sb)``)."""
    links = page.locator(LINKS)
    urls = {
        (links.nth(i).text_content() or "").strip(): links.nth(i).get_attribute("href") or ""
        for i in range(links.count())
    }
    assert "dashboard" in urls, urls
    return urls


def _assert_quiet(page: Any) -> None:
    """No output area shows a traceback, stderr, a bare repr echo or a long raw dict."""
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, stderr.first.text_content() or ""
    errors = page.locator(".jp-OutputArea-output", has_text="Traceback")
    assert errors.count() == 0, errors.first.text_content() or ""
    texts = page.locator('.jp-OutputArea-output[data-mime-type="text/plain"]').all_text_contents()
    echoes = [text for text in texts if ECHO.fullmatch(text.strip())]
    assert echoes == [], "repr echoes"
    dumps = [text[:80] for text in texts if text.lstrip().startswith("{") and text.count("\n") > 10]
    assert dumps == [], "raw dicts of more than 10 lines"


def _check_lines(page: Any) -> list[str]:
    outputs = page.locator(".jp-OutputArea-output", has_text=CHECK_LINE)
    return [(outputs.nth(i).text_content() or "").strip() for i in range(outputs.count())]


def _screenshot(page: Any, name: str, anchor: Any) -> None:
    settled = None
    for _ in range(10):  # the windowed notebook draws the cells around it, which moves it
        top = anchor.evaluate(SCROLL_AND_MEASURE)
        if top == settled:
            break
        settled = top
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"learner-{name}.png"))


def _assert_beside_the_notebook(page: Any, board: Any) -> None:
    """The board is docked: in the side panel, to the right of the notebook, in view."""
    notebook = page.locator(".jp-NotebookPanel").first.bounding_box()
    docked = board.bounding_box()
    assert notebook is not None and docked is not None
    assert docked["x"] >= notebook["x"] + notebook["width"] - 1, (docked, notebook)
    assert docked["y"] < VIEWPORT["height"], "the docked board is in view after Run All"


def _board_shows(page: Any, uid: str) -> None:
    board = page.locator(".drwlab-live-board").first
    board.get_by_text(uid).first.wait_for(timeout=CELL_TIMEOUT_MS)


def _launch_from_a_fresh_cell(page: Any) -> None:
    """Add a cell at the end of the notebook and launch a new OUS from it."""
    last = page.locator(".jp-Notebook .jp-Cell").last
    last.scroll_into_view_if_needed()
    last.locator(".cm-content").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, in edit mode after Enter
    page.keyboard.press("Enter")
    page.keyboard.type(f'sb.launch("2015.1.00657.S", "{FRESH_OUS}");')
    page.keyboard.press("Control+Enter")


def _solve(page: Any, exercise: str) -> None:
    """Uncomment the exercise's %load line, run it (it loads the solution), run the loaded
    code, then run the check cell."""
    load = f"solutions/{exercise}.py"
    cell = _cell(page, f"# %load {load}")
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(f"%load {load}")
    page.keyboard.press("Control+Enter")
    loaded = page.locator(".jp-Notebook .jp-Cell", has_text="Solution of")
    loaded.first.wait_for(timeout=CELL_TIMEOUT_MS)
    _run_cell(page, loaded.first)
    check = _cell(page, f'exercises.check("{exercise}")')
    _run_cell(page, check)
    passed = check.locator(".jp-OutputArea-output", has_text=f"\u2714 {exercise}")
    passed.wait_for(timeout=CELL_TIMEOUT_MS)


def _pass_in_the_panel(page: Any, board: Any) -> float:
    """Review and Pass YOURS in the QA2 panel; seconds from the Pass click until the board
    shows it Delivered."""
    board.locator('td[data-state="ReadyForReview"]').get_by_text(YOURS).wait_for()
    panel = page.locator(".drwlab-qa2-panel")
    panel.scroll_into_view_if_needed()
    panel.locator(".drwlab-qa2-ready select").select_option(label=YOURS)
    panel.locator("button.drwlab-qa2-review").click()
    panel.locator(".drwlab-qa2-current").get_by_text(f"Reviewing {YOURS}").wait_for()
    panel.locator(".drwlab-qa2-scores td", has_text="hifa_importdata").wait_for()
    clicked = time.monotonic()
    panel.locator("button.drwlab-qa2-pass").click()
    delivered = board.locator('td[data-state="Delivered"]').get_by_text(YOURS)
    delivered.wait_for(timeout=DELIVERY_TIMEOUT * 1000)
    seconds = time.monotonic() - clicked
    assert "error" not in panel.locator(".drwlab-qa2-message").inner_html()
    return seconds


@pytest.mark.parametrize("notebook", sorted(SOLVED))
def test_a_learner_runs_the_notebook_at_peoples_timings(lab: Lab, notebook: str) -> None:
    from playwright.sync_api import sync_playwright

    figures: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            _open(page, lab, notebook)

            figures["run_all_seconds"] = round(_run_all(page), 1)
            _assert_quiet(page)
            checks = _check_lines(page)
            assert len(checks) == 2, checks
            assert not any(PASSED_LINE.search(line) for line in checks), checks
            board = page.locator(".drwlab-live-board").first
            if notebook in DOCKED:
                _assert_beside_the_notebook(page, board)
            _screenshot(page, notebook, board)
            assert page.locator(".drwlab-picture").evaluate_all(CUT_OFF) == []
            for number, picture in enumerate(PICTURES[notebook], start=2):
                _screenshot(page, f"{notebook}-{number}", page.locator(picture).first)

            urls = _urls(page)
            for name in ("dashboard", "weblogs.JAO"):
                assert requests.get(urls[name], timeout=10).status_code == 200, name

            _launch_from_a_fresh_cell(page)
            _board_shows(page, FRESH_OUS)
            words = board.locator("th abbr, .card .uid")
            assert words.count() >= 10, "nine state headings and a card at least"
            assert words.evaluate_all(WRAPPED) == [], "a state name or uid broken over two lines"

            _solve(page, SOLVED[notebook])
            if notebook == "03-qa2":
                clicked = _pass_in_the_panel(page, board)
                figures["qa2_click_to_delivered_seconds"] = round(clicked, 1)
            _assert_quiet(page)
        finally:
            browser.close()
    (ARTIFACTS / f"learner-{notebook}.json").write_text(json.dumps(figures, indent=1))
