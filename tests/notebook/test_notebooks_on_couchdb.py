"""Notebooks 01 and 03 run by nbmake, as ``./dev test`` runs them (fast mode, autopilot), with
``DRWLAB_STORE`` set to the CouchDB-compatible server: every cell passes, each notebook shows
where its databases are, and the server is left as it was found."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from drwlab.store import open_store
from drwlab.wire import FAST_TIME_SCALE, STATUS_DB
from tests.servers import CouchServer

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ("01-bus.ipynb", "03-qa2.ipynb")
NBMAKE_TIMEOUT = 180
RUN_TIMEOUT = 600


def outputs_text(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join(json.dumps(output) for cell in cells for output in cell.get("outputs", ()))


def test_notebooks_01_and_03_run_on_couchdb_each_in_its_own_namespace(
    server: CouchServer, tmp_path: Path
) -> None:
    with open_store(server.url) as top:  # someone's data at the server's top: left alone
        top.put(STATUS_DB, {"_id": "not-a-learner-s"})
    before = server.database_names()
    shutil.copytree(ROOT / "notebooks" / "solutions", tmp_path / "solutions")
    for name in NOTEBOOKS:
        shutil.copy2(ROOT / "notebooks" / name, tmp_path / name)
    env = dict(
        os.environ,
        DRWLAB_STORE=server.url,
        DRWLAB_TIME_SCALE=str(FAST_TIME_SCALE),
        DRWLAB_AUTOPILOT="1",
        PYTHONPATH=str(ROOT),
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", f"--nbmake-timeout={NBMAKE_TIMEOUT}",
         "--overwrite", "-p", "no:cacheprovider", "-q", "-n", "0", "--rootdir", str(tmp_path),
         *NOTEBOOKS],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout

    for name in NOTEBOOKS:
        shown = outputs_text(tmp_path / name)
        assert "Store: the CouchDB server" in shown and "namespace <code>nb_" in shown, name
        assert f"{server.url}/_utils/" in shown, name
    assert server.database_names() == before  # each kernel dropped its namespace at exit
    with open_store(server.url) as top:
        assert [doc["_id"] for doc in top.all_docs(STATUS_DB)] == ["not-a-learner-s"]
