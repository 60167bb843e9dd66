"""Load: many OUSs launched at once, and pipeline drivers competing for them.

The two big runs spread their OUSs over the four executives' pipeline
drivers; the competing-drivers run sends them all to EU. Each run happens in
a process of its own (``load.py``) so that its duration, CPU time and peak
memory are measured alone; they are recorded as figures (see conftest.py).
Afterwards the store is checked OUS by OUS: every one rests in Delivered or
ProcessingProblem, was processed exactly once (one Processing in its history,
one pipeline report), and a delivered one has its six NGAS files, five
metadata records and one complete delivery status; no message is left
unread or dead.

``DRWLAB_TEST_LOAD_OUSS`` scales the two big runs down for a quick local look
(CI runs the full 1,000 and 200).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from drwlab.lifecycle import EXECUTIVES
from drwlab.store import Store, open_store, sqlite_url
from tests.reliability.figures import Figures
from tests.reliability.load import uids
from tests.servers import CouchServer

REPO = Path(__file__).resolve().parents[2]
EVERYWHERE = ",".join(EXECUTIVES)
"""The big runs spread their OUSs over every executive's pipeline, as ALMA's projects are."""
SCALE = os.environ.get("DRWLAB_TEST_LOAD_OUSS")


def load_run(
    ouss: int, workdir: Path, store: str | None = None, drivers: int = 1, executives: str = "EU"
) -> dict:
    """Run ``load.py`` and return its figures (the store stays for the checks)."""
    command = [sys.executable, "-m", "tests.reliability.load", "--ouss", str(ouss)]
    command += ["--drivers", str(drivers), "--workdir", str(workdir)]
    command += ["--executives", executives]
    if store is not None:
        command += ["--store", store]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRWLAB_")}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def by_ous(store: Store, db: str, field: str = "ousUID") -> Counter[str]:
    return Counter(str(doc.get(field)) for doc in store.all_docs(db))


def check_each_ous(store: Store, ouss: int) -> dict[str, Any]:
    """Every OUS at rest and processed exactly once; figures of what the store holds."""
    entities = {doc["entityId"]: doc for doc in store.all_docs("status-entities")}
    assert sorted(entities) == sorted(uids(ouss))
    states = Counter(doc["state"] for doc in entities.values())
    assert set(states) <= {"Delivered", "ProcessingProblem"}, states
    reports, ngas = by_ous(store, "pipeline-reports"), by_ous(store, "ngas")
    metadata, deliveries = by_ous(store, "products-metadata"), by_ous(store, "delivery-status")
    wrong = {}
    for uid, doc in entities.items():
        processing = [h for h in doc["history"] if h["state"] == "Processing"]
        delivered = doc["state"] == "Delivered"
        seen = (len(processing), reports[uid], ngas[uid], metadata[uid], deliveries[uid])
        if seen != ((1, 1, 6, 5, 1) if delivered else (1, 0, 0, 0, 0)):
            wrong[uid] = (doc["state"], seen)
    assert wrong == {}, f"(Processing, reports, NGAS, metadata, deliveries) per OUS: {wrong}"
    assert all(d.get("complete") for d in store.all_docs("delivery-status"))
    messages = store.all_docs("msgq")
    left = [m["_id"] for m in messages if m.get("state") in ("pending", "claimed", "dead")]
    assert left == [], f"messages unread, in hand or dead after the run: {left[:10]}"
    drivers = Counter(
        h["actor"]
        for doc in entities.values()
        for h in doc["history"]
        if h["state"] == "Processing"
    )
    return {
        "delivered": states["Delivered"],
        "processing_problems": states["ProcessingProblem"],
        "messages_handled": sum(1 for m in messages if m.get("state") == "done"),
        "runs_per_driver": dict(sorted(drivers.items())),
    }


@pytest.mark.slow
def test_a_thousand_ouss_at_once_on_the_embedded_store(tmp_path: Path, figures: Figures) -> None:
    ouss = int(SCALE or 1000)
    result = load_run(ouss, tmp_path, executives=EVERYWHERE)
    assert result["resting"] == ouss, result
    with open_store(sqlite_url(tmp_path / "drwlab.db")) as store:
        result.update(check_each_ous(store, ouss))
    figures.record(f"load.sqlite.{ouss}", **result)


@pytest.mark.slow
def test_two_hundred_ouss_at_once_on_the_couchdb_server(
    couch_server: CouchServer, tmp_path: Path, figures: Figures
) -> None:
    ouss = int(SCALE or 200) // 5 if SCALE else 200
    couch_server.drop_all_databases()
    result = load_run(ouss, tmp_path, store=couch_server.url, executives=EVERYWHERE)
    assert result["resting"] == ouss, result
    with open_store(couch_server.url) as store:
        result.update(check_each_ous(store, ouss))
    figures.record(f"load.couchdb.{ouss}", **result)


@pytest.mark.parametrize("backend", ["sqlite", "couchdb"])
def test_four_competing_drivers_process_each_ous_exactly_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, figures: Figures
) -> None:
    ouss = 40 if backend == "sqlite" else 12
    if backend == "sqlite":
        url = sqlite_url(tmp_path / "drwlab.db")
    else:
        server: CouchServer = request.getfixturevalue("couch_server")
        server.drop_all_databases()
        url = server.url
    result = load_run(ouss, tmp_path, store=url, drivers=4)
    assert result["resting"] == ouss, result
    with open_store(url) as store:
        result.update(check_each_ous(store, ouss))
    assert len(result["runs_per_driver"]) >= 2, f"the drivers did not compete: {result}"
    figures.record(f"load.four-drivers.{backend}.{ouss}", **result)
