"""A person runs 03-qa2.ipynb in JupyterLab, in a real browser, and passes an OUS with a click.

The test starts its own JupyterLab (loopback, token, fresh workspace and settings, no
news) on a copy of the notebook, with a small time scale and *without* the autopilot,
so the notebook leaves its OUS for the person. Headless Chromium (Debian's, driven by
Playwright) runs all cells from the menu, clicks Review and Pass in the QA2 panel, and
the test checks in the store that the OUS reaches Delivered and in the page that the
board shows it there. A screenshot goes to ``test-artifacts/qa2-notebook.png``.
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

import pytest
import requests

from drwlab.errors import NotFound
from drwlab.store import Store, open_store
from drwlab.uids import uid_to_doc_id

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03-qa2.ipynb"
ARTIFACT = ROOT / "test-artifacts" / "qa2-notebook.png"
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
START_TIMEOUT = 90.0
RUN_ALL_TIMEOUT_MS = 240_000
DELIVERY_TIMEOUT = 120.0

pytestmark = pytest.mark.browser


@dataclass
class Lab:
    """A running JupyterLab: where to open the notebook, and its folder."""

    url: str
    token: str
    folder: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lab_environment(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DRWLAB_AUTOPILOT"}
    env.update(
        DRWLAB_TIME_SCALE="0.05",
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
    try:  # shuts its kernels down too
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
    """JupyterLab on a free loopback port, serving a folder with a copy of 03-qa2.ipynb."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
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


def _state(store: Store, uid: str) -> str | None:
    try:
        return str(store.get("status-entities", uid_to_doc_id(uid))["state"])
    except NotFound:
        return None


def _wait_for_state(store: Store, uid: str, state: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _state(store, uid) != state:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{uid} is {_state(store, uid)}, not {state}"
        store.wait_for_change("status-entities", store.current_seq("status-entities"), 1.0)


def test_a_person_passes_an_ous_in_the_qa2_notebook(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}&reset")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            idle = page.locator(".jp-StatusBar-Item", has_text="(ipykernel) | Idle")
            idle.first.wait_for(timeout=60_000)

            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
            outputs = page.locator(".jp-OutputArea-output")
            done = outputs.filter(has_text="The sandbox keeps running for your review")
            done.wait_for(state="attached", timeout=RUN_ALL_TIMEOUT_MS)

            printed = page.locator(".jp-OutputArea-output pre", has_text="store: sqlite://")
            found = re.search(r"store: (sqlite://\S+)", (printed.first.text_content() or ""))
            assert found is not None, printed.first.text_content() or ""
            store_url = found.group(1)
            with open_store(store_url) as store:
                assert _state(store, YOURS) == "ReadyForReview", "nothing decided before the click"

                panel = page.locator(".drwlab-qa2-panel")
                panel.scroll_into_view_if_needed()
                panel.locator(".drwlab-qa2-ready select").select_option(label=YOURS)
                panel.locator("button.drwlab-qa2-review").click()
                current = panel.locator(".drwlab-qa2-current")
                current.get_by_text(f"Reviewing {YOURS}").wait_for(timeout=30_000)
                panel.locator(".drwlab-qa2-scores td", has_text="hifa_importdata").wait_for()
                panel.locator("button.drwlab-qa2-pass").click()

                _wait_for_state(store, YOURS, "Delivered", DELIVERY_TIMEOUT)

            board = page.locator(".drwlab-live-board").first
            delivered = board.locator('td[data-state="Delivered"]')
            delivered.get_by_text(YOURS).wait_for(timeout=30_000)
            board.scroll_into_view_if_needed()
            ARTIFACT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACT))
            assert "error" not in panel.locator(".drwlab-qa2-message").inner_html()
        finally:
            browser.close()
