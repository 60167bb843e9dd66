"""The Sandbox as a notebook uses it: start, stop, start again, reset, waits and refusals."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from drwlab import Sandbox, notebook
from drwlab.bus.message import is_group_doc
from drwlab.errors import IllegalTransition, InvalidMessage, PipelineFailed
from drwlab.settings import from_environment
from drwlab.store import DATABASES, Store, open_store, sqlite_url

PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xb0"


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


@pytest.fixture
def threads_before() -> Iterator[set[threading.Thread]]:
    before = set(threading.enumerate())
    yield before
    assert new_threads(before) == [], "a sandbox left threads behind"


def is_bus_plumbing(doc: dict[str, object]) -> bool:
    """What a reset keeps while actors run: groups, messages in hand, RPCs in flight."""
    rpc = "msgbackID" in doc or str(doc.get("selector", "")).startswith("msgback.")
    return is_group_doc(doc) or rpc or doc.get("state") == "claimed"


def wait_until_quiet(store: Store, timeout: float = 10.0) -> None:
    """Return once no message is pending or being handled."""
    deadline = time.monotonic() + timeout
    busy = {"state": {"$in": ["pending", "claimed"]}}
    while True:
        seq = store.current_seq("msgq")
        if store.count("msgq", busy) == 0:
            return
        assert time.monotonic() < deadline, store.find("msgq", busy)
        store.wait_for_change("msgq", seq, 0.5)


def fast_sandbox(workdir: Path | None, **options: object) -> Sandbox:
    settings: dict[str, object] = {
        "time_scale": 0.0,
        "seed": 1,
        "failure_rate": 0.0,
        "autopilot": False,  # whatever DRWLAB_AUTOPILOT says: tests decide
    }
    settings.update(options)
    return Sandbox(workdir=workdir, **settings)  # type: ignore[arg-type]


def test_a_sandbox_starts_stops_and_starts_again_leaving_no_thread(
    tmp_path: Path, threads_before: set[threading.Thread]
) -> None:
    sandbox = fast_sandbox(tmp_path, start=False)
    for round_number in range(2):
        sandbox.start()
        running = new_threads(threads_before)
        assert running and all(t.daemon for t in running), "only daemon threads"
        uid = f"uid://X1/X1/Xc{round_number}"
        sandbox.launch(PROG, uid)
        assert sandbox.wait_for(uid, "ReadyForReview", timeout=30)["entityId"] == uid
        started = time.monotonic()
        sandbox.stop()
        assert time.monotonic() - started < 2.5
        assert new_threads(threads_before) == []
    sandbox.stop()  # stopping twice is harmless


def test_a_sandbox_is_a_context_manager_that_stops_its_servers(tmp_path: Path) -> None:
    with fast_sandbox(tmp_path) as sandbox:
        urls = sandbox.urls
        assert set(urls) >= {"cache.EU", "cache.JAO", "weblogs.EU", "weblogs.JAO", "dashboard"}
        assert requests.get(urls["cache.JAO"], timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(urls["cache.JAO"], timeout=5)


def test_two_sandboxes_side_by_side_do_not_collide() -> None:
    first, second = fast_sandbox(None), fast_sandbox(None)
    try:
        assert first.workdir != second.workdir
        assert first.store_url != second.store_url
        assert set(first.urls.values()).isdisjoint(second.urls.values())
        first.launch(PROG, UID)
        second.launch(PROG, UID)
        first.wait_for(UID, "ReadyForReview", timeout=30)
        second.wait_for(UID, "ReadyForReview", timeout=30)
        for sandbox in (first, second):
            assert sandbox.store.count("status-entities", {}) == 1
            assert len([p for p in sandbox.caches["EU"].iterdir() if p.is_dir()]) == 2
    finally:
        for sandbox in (first, second):
            sandbox.discard()


def test_reset_empties_databases_and_caches_while_running(store_url: str, tmp_path: Path) -> None:
    with fast_sandbox(tmp_path, store=store_url) as sandbox:
        sandbox.launch(PROG, UID)
        sandbox.wait_for(UID, "ReadyForReview", timeout=60)
        assert any(sandbox.caches["EU"].iterdir())
        wait_until_quiet(sandbox.store)

        sandbox.reset()

        for db in DATABASES:
            left = [d["_id"] for d in sandbox.store.all_docs(db) if not is_bus_plumbing(d)]
            assert left == [], f"{db} not emptied"
        for cache in sandbox.caches.values():
            assert [p.name for p in cache.iterdir()] == ["weblogs"]
            assert not any((cache / "weblogs").iterdir())
        sandbox.launch(PROG, UID)  # the running actors carry on after a reset
        entity = sandbox.wait_for(UID, "ReadyForReview", timeout=60)
        assert [h["state"] for h in entity["history"]] == [
            "ReadyForProcessing",
            "Processing",
            "ReadyForReview",
        ], "a fresh entity, its old history wiped"


def test_reset_of_a_stopped_sandbox_empties_it_too(tmp_path: Path) -> None:
    sandbox = fast_sandbox(tmp_path, autopilot="Pass")
    sandbox.launch(PROG, UID)
    sandbox.wait_for(UID, "ReadyForReview", timeout=30)
    sandbox.stop()
    sandbox.reset()
    with open_store(sandbox.store_url) as store:
        assert all(store.all_docs(db) == [] for db in DATABASES)


def test_wait_for_names_the_ous_the_wanted_and_the_current_state_on_timeout(
    tmp_path: Path,
) -> None:
    with fast_sandbox(tmp_path) as sandbox:  # nobody reviews: the OUS stays ReadyForReview
        sandbox.launch(PROG, UID)
        sandbox.wait_for(UID, "ReadyForReview", timeout=30)
        with pytest.raises(
            TimeoutError,
            match=r"uid://X1/X1/Xb0 did not reach Delivered .*"
            r"it is ReadyForReview",
        ):
            sandbox.wait_for(UID, "Delivered", timeout=0.3)
        with pytest.raises(TimeoutError, match="no such OUS"):
            sandbox.wait_for("uid://X1/X1/Xff", "Delivered", timeout=0.1)


def test_waiting_for_a_state_a_failed_ous_cannot_reach_fails_at_once(tmp_path: Path) -> None:
    with fast_sandbox(tmp_path, failure_rate=1.0) as sandbox:
        sandbox.launch(PROG, UID)
        started = time.monotonic()
        with pytest.raises(PipelineFailed, match=r"ProcessingProblem .* unless launched again"):
            sandbox.wait_for(UID, "ReadyForReview", timeout=30)
        assert time.monotonic() - started < 10
        assert sandbox.entity(UID)["problem"]


def test_launch_on_an_executive_without_a_driver_is_refused(tmp_path: Path) -> None:
    with fast_sandbox(tmp_path) as sandbox:
        with pytest.raises(InvalidMessage, match="no pipeline driver for executive 'NA'"):
            sandbox.launch(PROG, UID, executive="NA")
        assert sandbox.store.all_docs("status-entities") == []


def test_a_sandbox_can_run_a_pipeline_at_two_executives(tmp_path: Path) -> None:
    with fast_sandbox(tmp_path, executives=("EU", "NA"), autopilot="Pass") as sandbox:
        sandbox.launch(PROG, UID, executive="NA")
        sandbox.wait_for(UID, "Delivered", timeout=60)
        assert "cache.NA" in sandbox.urls
        assert any(p.name.startswith(PROG) for p in sandbox.caches["NA"].iterdir())
        assert any(p.name.startswith(PROG) for p in sandbox.caches["JAO"].iterdir())


def test_a_store_handed_to_the_sandbox_stays_open(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path / "mine.db")) as store:
        with fast_sandbox(tmp_path, store=store) as sandbox:
            assert sandbox.store is store
        assert store.all_docs("status-entities") == []  # still usable


def test_defaults_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRWLAB_TIME_SCALE", "0.05")
    monkeypatch.setenv("DRWLAB_AUTOPILOT", "1")
    assert from_environment().time_scale == 0.05
    sandbox = Sandbox(workdir=tmp_path, time_scale=None, start=False)
    assert sandbox.time_scale == 0.05
    assert sandbox.autopilot == "Pass"
    assert sandbox.store_url == sqlite_url(tmp_path / "drwlab.db")
    assert sandbox.caches == {"EU": tmp_path / "caches" / "EU", "JAO": tmp_path / "caches" / "JAO"}


def test_waiting_for_a_state_a_delivered_ous_will_never_reach_fails_at_once(
    tmp_path: Path,
) -> None:
    with fast_sandbox(tmp_path, autopilot="Pass") as sandbox:
        sandbox.launch(PROG, UID)
        sandbox.wait_for(UID, "Delivered", timeout=60)
        with pytest.raises(IllegalTransition, match="Delivered, a final state"):
            sandbox.wait_for(UID, "ReadyForReview", timeout=30)
        assert sandbox.wait_for_any(UID, ["ReadyForReview", "Delivered"])["state"] == "Delivered"


def test_a_sandbox_exports_its_run_as_one_html_file(tmp_path: Path) -> None:
    with fast_sandbox(tmp_path) as sandbox:
        sandbox.launch(PROG, UID)
        sandbox.wait_for(UID, "ReadyForReview", timeout=30)
        path = sandbox.export_report(tmp_path / "report" / "run.html")
    assert path == tmp_path / "report" / "run.html"
    assert UID in path.read_text(encoding="utf-8")


def test_a_stopped_sandbox_says_so_when_used(tmp_path: Path) -> None:
    sandbox = fast_sandbox(tmp_path, start=False)
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.launch(PROG, UID)
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.qa2.ready_for_review()
    assert sandbox.urls == {} and not sandbox.running


def test_autopilot_false_leaves_the_decision_to_a_person_whatever_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRWLAB_AUTOPILOT", "1")
    assert Sandbox(workdir=tmp_path, autopilot=False, start=False).autopilot is None
    assert Sandbox(workdir=tmp_path, autopilot=True, start=False).autopilot == "Pass"
    assert Sandbox(workdir=tmp_path, autopilot="SemiPass", start=False).autopilot == "SemiPass"


def test_discard_deletes_the_temporary_work_dir_it_made_and_keeps_a_named_one(
    tmp_path: Path,
) -> None:
    made, named = fast_sandbox(None), fast_sandbox(tmp_path / "mine")
    for sandbox in (made, named):
        sandbox.launch(PROG, UID)
        sandbox.wait_for(UID, "ReadyForReview", timeout=30)
        assert any(sandbox.caches["EU"].iterdir())
        sandbox.discard()
        assert not sandbox.running
    assert not made.workdir.exists()
    assert (named.workdir / "caches" / "EU").is_dir()
    made.discard()  # twice is harmless


def test_stop_sandbox_of_a_notebook_leaves_no_work_dir_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRWLAB_TIME_SCALE", "0")
    first = notebook.start_sandbox(seed=1, failure_rate=0.0)
    second = notebook.start_sandbox(seed=2, failure_rate=0.0)  # other options: a new one
    assert second is not first and not first.workdir.exists()
    third = notebook.start_sandbox(seed=2, failure_rate=0.0)  # the same again: a fresh one too
    assert third is not second and not second.workdir.exists()
    notebook.stop_sandbox()
    assert not third.running and not third.workdir.exists()


def test_a_kernel_ending_with_its_sandbox_running_leaves_no_work_dir(tmp_path: Path) -> None:
    program = (
        "from drwlab.notebook import start_sandbox\n"
        "print(start_sandbox(seed=1, failure_rate=0.0, time_scale=0.0).workdir, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    workdir = Path(done.stdout.strip())
    assert workdir.name.startswith("drwlab-")
    assert not workdir.exists()
