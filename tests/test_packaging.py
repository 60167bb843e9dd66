"""Core drwlab runs without JupyterLab: a server host installs no notebook server it never uses.

The installed metadata says what ``pip install drwlab`` pulls in, and the
command is run with the notebook packages made unimportable (as on a host
without the ``lab`` extra): every tool a server host runs must still work.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

NOTEBOOK_PACKAGES = ("ipywidgets", "IPython", "jupyterlab", "ipykernel", "nest_asyncio")
"""What the ``lab`` extra brings (as imported)."""
LAB_DISTRIBUTIONS = {"ipywidgets", "jupyterlab", "ipykernel", "nest-asyncio"}

WITHOUT_LAB = (
    "import sys\n"
    f"for name in {NOTEBOOK_PACKAGES!r}:\n"
    "    sys.modules[name] = None  # importing it now raises ImportError\n"
    "from drwlab.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def requirements(extra: str | None) -> set[str]:
    """Distribution names drwlab requires, for ``extra`` (None: the core)."""
    names = set()
    for line in importlib.metadata.requires("drwlab") or []:
        name = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower()
        marker = re.search(r'extra == "([^"]+)"', line)
        if (marker.group(1) if marker else None) == extra:
            names.add(name)
    return names


def drwlab_without_lab(*args: str, tmp_path: Path, timeout: float) -> str:
    """Run ``drwlab ARGS`` with the notebook packages unimportable; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}
    env["DRWLAB_WORKDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_LAB, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_the_core_requires_no_notebook_package_and_the_lab_extra_adds_them() -> None:
    assert requirements(None) & LAB_DISTRIBUTIONS == set()
    assert requirements("lab") >= LAB_DISTRIBUTIONS
    assert "drwlab" in requirements("test"), "the test extra installs drwlab[lab]"


def test_the_blocker_really_blocks() -> None:
    program = WITHOUT_LAB.split("from drwlab")[0] + "import ipywidgets\n"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, check=False)
    assert done.returncode != 0 and b"import of ipywidgets halted" in done.stderr


def test_an_actor_starts_without_the_lab_extra(tmp_path: Path) -> None:
    output = drwlab_without_lab("run", "xtss", "--help", tmp_path=tmp_path, timeout=60)
    assert "usage: drwlab run xtss" in output


def test_a_demo_and_its_report_need_no_lab_extra(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = ("--store", store, "demo", "-n", "1", "--time-scale", "0", "--workdir", str(tmp_path))
    drwlab_without_lab(*demo, tmp_path=tmp_path, timeout=180)
    report = tmp_path / "report.html"
    drwlab_without_lab("--store", store, "report", str(report), tmp_path=tmp_path, timeout=60)
    text = report.read_text(encoding="utf-8")
    assert "uid://X1/X1/Xb0" in text and "Delivered" in text


def test_the_notebook_layer_without_the_lab_extra_says_what_to_install() -> None:
    program = WITHOUT_LAB.split("from drwlab")[0] + "from drwlab import notebook\n"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, check=False)
    assert done.returncode != 0
    assert b"pip install 'drwlab[lab]'" in done.stderr
