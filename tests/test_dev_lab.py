"""``./dev lab``, the README's first command, run as the reader runs it: it starts JupyterLab
(as root too, where JupyterLab needs ``--allow-root``), serves the notebooks, and stops."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
START_TIMEOUT = 240.0
"""Seconds for ``./dev lab`` to answer: on a fresh clone it first installs into ``.venv``."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Lab:
    """``./dev lab`` running in its own session, on a free port with a known token."""

    def __init__(self, tmp_path: Path, *dev_options: str) -> None:
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "lab.log"
        options = [
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        ]  # fmt: skip
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(REPO / "dev"), "lab", *dev_options, *options],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def get(self, path: str) -> requests.Response:
        return requests.get(
            self.url + path, headers={"Authorization": f"token {self.token}"}, timeout=10
        )

    def wait_until_serving(self) -> requests.Response:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                return self.get("/api/contents")
            except requests.ConnectionError:
                time.sleep(0.5)
        raise AssertionError(f"./dev lab did not serve; its output:\n{self.log.read_text()}")

    def stop(self) -> int:
        """SIGTERM to the session ``./dev lab`` started (JupyterLab shuts down cleanly)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    running = Lab(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def test_dev_lab_starts_serves_the_notebooks_and_stops(lab: Lab) -> None:
    listing = lab.wait_until_serving()
    assert listing.status_code == 200, listing.text
    served = sorted(
        item["name"] for item in listing.json()["content"] if item["type"] == "notebook"
    )
    assert served == NOTEBOOKS and {"01-bus.ipynb", "06-your-actor.ipynb"} <= set(served)
    opened = lab.get(f"/api/contents/{NOTEBOOKS[0]}").json()
    assert opened["type"] == "notebook" and opened["content"]["cells"]
    assert requests.get(lab.url + "/api/contents", timeout=10).status_code == 403  # no token
    assert lab.stop() in (0, -signal.SIGTERM)
    with pytest.raises(requests.ConnectionError):
        lab.get("/api/contents")
