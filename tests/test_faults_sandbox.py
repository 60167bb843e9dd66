"""The Sandbox's fault one-liners, as notebook 05 uses them, on both stores: a second driver,
a short lease, a crash of the driver holding an OUS, an outage of the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from drwlab import Sandbox
from drwlab.faults import UnreachableStore, fault_events
from tests.actors.conftest import wait_until
from tests.views.test_report_faults import FAULTS, RETRIED, tables_of

PROG = "2016.1.00001.S"


def faulty_sandbox(workdir: Path, store_url: str, time_scale: float = 0.0) -> Sandbox:
    sandbox = Sandbox(
        store_url, workdir, time_scale=time_scale, seed=1, failure_rate=0.0, autopilot=False
    )
    sandbox.prepare_faults(lease=2)
    return sandbox


def test_a_sandbox_takes_its_bus_lease_from_its_settings(tmp_path: Path) -> None:
    with Sandbox(workdir=tmp_path, time_scale=0, lease=3, autopilot=False) as sandbox:
        assert sandbox.bus.lease == 3


def test_the_driver_holding_an_ous_crashes_and_the_competing_one_finishes_it(
    store_url: str, tmp_path: Path
) -> None:
    uid = "uid://X1/X1/Xc0"
    with faulty_sandbox(tmp_path, store_url, time_scale=0.2) as sandbox:
        assert sandbox.bus.lease == 2
        second = sandbox.add_pipeline_driver()
        assert sandbox.actors["pipeline-driver.EU.2"] is second
        assert sandbox.holder(uid) is None
        sandbox.launch(PROG, uid)
        sandbox.wait_for(uid, "Processing", timeout=60)
        holder = sandbox.holder(uid)
        assert holder in ("pipeline-driver.EU", "pipeline-driver.EU.2")
        crash = sandbox.crash(str(holder))
        assert crash.actor == holder and len(crash.held) == 1 and crash.lease == 2
        sandbox.wait_for(uid, "ReadyForReview", timeout=60)
        wait_until(
            lambda: sandbox.store.get("msgq", crash.held[0])["state"] == "done",
            what="the request acknowledged by the other driver",
        )
        request = sandbox.store.get("msgq", crash.held[0])
        assert not request["handledBy"].startswith(f"{holder}-")
        assert [e["type"] for e in request["errorHistory"]] == ["LeaseExpired"]
        assert [e["kind"] for e in fault_events(sandbox.store)] == ["crash"]
        report = tables_of(sandbox.export_report(tmp_path / "report.html"))
        [event] = report[FAULTS]
        assert (event["Fault"], event["Actor"]) == ("crash", holder)
        healed = {row["Message id"]: row for row in report[RETRIED]}[crash.held[0]]
        assert (healed["State now"], healed["Handled by"]) == ("done", request["handledBy"])


def test_an_outage_of_the_store_is_waited_out_by_every_actor(
    store_url: str, tmp_path: Path
) -> None:
    uids = [f"uid://X1/X1/Xd{n}" for n in range(2)]
    with faulty_sandbox(tmp_path, store_url) as sandbox:
        store = sandbox.store
        assert isinstance(store, UnreachableStore) and not store.down
        for uid in uids:
            sandbox.launch(PROG, uid)
        sandbox.outage(1)
        assert store.down
        assert store.wait_until_up(timeout=10)
        for uid in uids:
            sandbox.wait_for(uid, "ReadyForReview", timeout=60)
        assert store.refused > 0
        assert [e["kind"] for e in fault_events(store)] == ["outage"]
        [event] = tables_of(sandbox.export_report(tmp_path / "report.html"))[FAULTS]
        assert event["Fault"] == "outage" and "the store was unreachable for 1 s" in event["What"]


def test_fault_one_liners_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    with Sandbox(workdir=tmp_path, time_scale=0, autopilot=False) as sandbox:
        with pytest.raises(RuntimeError, match="prepare_faults"):
            sandbox.outage(1)
        with pytest.raises(ValueError, match="no running listener"):
            sandbox.crash("pipeline-driver.NA")
        with pytest.raises(ValueError, match="no pipeline driver at 'NA'"):
            sandbox.add_pipeline_driver("NA")
        assert sandbox.add_pipeline_driver().name == "pipeline-driver.EU.2"
        assert sandbox.add_pipeline_driver().name == "pipeline-driver.EU.3"
