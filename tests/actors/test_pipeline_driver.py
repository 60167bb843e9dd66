"""The pipeline driver: runs the real mock pipeline; success, failures, and it keeps serving."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drwlab.actors.launcher import Launcher
from drwlab.actors.pipeline_driver import PipelineDriver, run_seed
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.lifecycle import State
from drwlab.products import parse_report
from drwlab.store import Store
from tests.actors.conftest import PROG, UID, entity, wait_dead, wait_done, wait_for_state

MakeDriver = Callable[..., PipelineDriver]


@pytest.fixture
def make_driver(bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path) -> Iterator[MakeDriver]:
    drivers: list[PipelineDriver] = []

    def make(**options: object) -> PipelineDriver:
        settings: dict[str, object] = {
            "executive": "EU",
            "cache_dir": tmp_path / "eu-cache",
            "work_dir": tmp_path / "eu-work",
            "time_scale": 0.0,
            "failure_rate": 0.0,
            "seed": 1,
        }
        settings.update(options)
        driver = PipelineDriver(bus, store, **settings)  # type: ignore[arg-type]
        drivers.append(driver.start())
        return driver

    yield make
    for driver in drivers:
        driver.stop()


@pytest.fixture
def launcher(bus: MessageBus, store: Store) -> Launcher:
    return Launcher(bus, store)


def test_a_successful_run_is_cached_announced_and_ready_for_review(
    make_driver: MakeDriver, launcher: Launcher, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    make_driver()
    launcher.launch(PROG, UID)
    doc = wait_for_state(store, UID, State.READY_FOR_REVIEW)
    assert [h["state"] for h in doc["history"]] == [
        "ReadyForProcessing",
        "Processing",
        "ReadyForReview",
    ]
    cache = tmp_path / "eu-cache"
    [products_dir] = [p for p in cache.iterdir() if p.is_dir()]
    [weblog] = cache.glob("weblog-*.zip")
    products = products_dir / "SOUS" / "GOUS" / "uid___X1_X1_Xb2" / "products"
    assert len(list(products.glob("product-*.data"))) == 5
    assert (products / weblog.name).is_file()

    to_jao = [m["body"] for m in bus.unread("cached.JAO")]
    assert to_jao == [
        {"fileType": "productsdir", "cachedAt": "EU", "name": products_dir.name},
        {"fileType": "weblog", "cachedAt": "EU", "name": weblog.name},
    ]
    assert [m["body"] for m in bus.unread("cached.EU")] == [to_jao[1]]
    [report] = [m["body"] for m in bus.unread("pipeline.report.JAO")]
    assert report["ousUID"] == UID and report["source"] == "EU"
    assert report["productsDir"] == products_dir.name
    assert parse_report(base64.b64decode(report["report"]).decode()).ous_uid == UID


def test_a_processing_problem_is_recorded_with_its_reason(
    make_driver: MakeDriver, launcher: Launcher, store: Store
) -> None:
    make_driver(failure_rate=1.0)
    launcher.launch(PROG, UID)
    doc = wait_for_state(store, UID, State.PROCESSING_PROBLEM)
    assert "processing problem" in doc["problem"]
    assert doc["history"][-1]["reason"] == doc["problem"]


@pytest.mark.parametrize(
    ("simulate", "reason"),
    [("crash", "crashed"), ("partial", "incomplete products"), ("hang", "timed out")],
)
def test_a_failed_run_ends_in_processing_problem_and_the_driver_carries_on(
    make_driver: MakeDriver, launcher: Launcher, store: Store, simulate: str, reason: str
) -> None:
    driver = make_driver(simulate=simulate, pipeline_timeout=2.0 if simulate == "hang" else 30.0)
    launcher.launch(PROG, UID)
    doc = wait_for_state(store, UID, State.PROCESSING_PROBLEM)
    assert reason in doc["problem"]
    driver.simulate = None
    launcher.launch(PROG, "uid://X1/X1/Xb3")
    wait_for_state(store, "uid://X1/X1/Xb3", State.READY_FOR_REVIEW)
    assert driver.is_alive


def test_malformed_and_stale_requests_are_dead_lettered_and_the_driver_carries_on(
    make_driver: MakeDriver, launcher: Launcher, bus: MessageBus, store: Store
) -> None:
    driver = make_driver()
    bad = bus.send("pipeline.process.EU", {"progID": PROG, "ousUID": "nope", "recipe": "R"})
    assert "uid" in wait_dead(bus, bad)["error"]
    missing = bus.send("pipeline.process.EU", {"ousUID": UID})
    assert "project code" in wait_dead(bus, missing)["error"]
    stale = bus.send(
        "pipeline.process.EU", {"progID": PROG, "ousUID": "uid://X1/X1/Xff", "recipe": "R"}
    )
    assert "cannot process uid://X1/X1/Xff" in wait_dead(bus, stale)["error"]
    launcher.launch(PROG, UID)
    wait_for_state(store, UID, State.READY_FOR_REVIEW)
    assert driver.is_alive and entity(store)["state"] == "ReadyForReview"


def test_two_runs_at_once_with_max_runs_two(
    make_driver: MakeDriver, launcher: Launcher, store: Store
) -> None:
    make_driver(max_runs=2, time_scale=0.1)
    uids = ["uid://X1/X1/Xc1", "uid://X1/X1/Xc2"]
    for uid in uids:
        launcher.launch(PROG, uid)
    docs = [wait_for_state(store, uid, State.READY_FOR_REVIEW) for uid in uids]
    started = [d["history"][1]["timestamp"] for d in docs]
    finished = [d["history"][2]["timestamp"] for d in docs]
    assert max(started) < min(finished)  # both ran at the same time


def test_run_seeds_are_reproducible_and_differ_per_uid_and_attempt() -> None:
    assert run_seed(1, UID, 1) == run_seed(1, UID, 1)
    assert len({run_seed(1, UID, 1), run_seed(1, UID, 2), run_seed(1, "uid://A/B/C", 1)}) == 3


def test_stopping_the_driver_mid_run_ends_in_processing_problem(
    make_driver: MakeDriver, launcher: Launcher, store: Store
) -> None:
    driver = make_driver(time_scale=1.0)  # a run of 3-8 s
    launcher.launch(PROG, UID)
    wait_for_state(store, UID, State.PROCESSING)
    driver.stop(timeout=5.0)
    assert not driver.is_alive
    doc = wait_for_state(store, UID, State.PROCESSING_PROBLEM)
    assert "stopped during the run" in doc["problem"]


def test_an_ous_requeued_by_hand_during_its_run_keeps_its_new_state(
    make_driver: MakeDriver, launcher: Launcher, xtss: Xtss, bus: MessageBus, store: Store
) -> None:
    make_driver(time_scale=0.3)
    message = launcher.launch(PROG, UID).message_id
    wait_for_state(store, UID, State.PROCESSING)
    xtss.set_state(UID, State.READY_FOR_PROCESSING, actor="operator", reason="manual shortcut")
    wait_done(store, message)
    assert entity(store)["state"] == "ReadyForProcessing"
    assert entity(store)["history"][-1]["actor"] == "operator"


def redeliver(store: Store, message_id: str) -> None:
    """Put a handled message back in the queue as the lease check returns a dead
    listener's claim: pending again, its attempts kept (so the next is attempt 2)."""
    doc = store.get("msgq", message_id)
    store.put("msgq", dict(doc, consumed=False, state="pending", attempts=1))


def test_a_run_interrupted_by_a_killed_driver_is_taken_over_on_redelivery(
    make_driver: MakeDriver,
    launcher: Launcher,
    xtss: Xtss,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As if a driver had claimed the request, set Processing, and been killed:
    # the request comes back once its lease expires, the OUS still in Processing.
    message = launcher.launch(PROG, UID).message_id
    xtss.set_state(UID, State.PROCESSING, actor="pipeline-driver.EU", request=message)
    redeliver(store, message)
    make_driver()
    doc = wait_for_state(store, UID, State.READY_FOR_REVIEW)
    assert [h["state"] for h in doc["history"]][-2:] == ["Processing", "ReadyForReview"]
    assert "left in Processing by an interrupted run" in caplog.text


def test_an_ous_another_tool_set_to_processing_is_a_first_run(
    make_driver: MakeDriver,
    launcher: Launcher,
    xtss: Xtss,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the original's dra.py sets Processing through the XTSS before the request is taken
    launcher.launch(PROG, UID)
    xtss.set_state(UID, State.PROCESSING, actor="unknown")
    caplog.set_level("INFO", logger="drwlab.actors.pipeline_driver")
    make_driver()
    wait_for_state(store, UID, State.READY_FOR_REVIEW)
    assert "set to Processing by unknown; processing it as a first run" in caplog.text
    assert "interrupted" not in caplog.text
    assert "attempt 1" in caplog.text


def test_a_redelivered_request_whose_run_is_over_is_a_duplicate(
    make_driver: MakeDriver,
    launcher: Launcher,
    xtss: Xtss,
    bus: MessageBus,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the run finished, but the driver died before acknowledging; meanwhile the OUS moved on
    make_driver()
    message = launcher.launch(PROG, UID).message_id
    wait_for_state(store, UID, State.READY_FOR_REVIEW)
    wait_done(store, message)
    for state in (State.REVIEWING, State.VERIFIED, State.DELIVERY_IN_PROGRESS):
        xtss.set_state(UID, state, actor="test")
    before = entity(store)
    caplog.set_level("INFO", logger="drwlab.actors.pipeline_driver")
    redeliver(store, message)
    done = wait_done(store, message)
    assert done["attempts"] == 2 and "error" not in done
    assert entity(store)["history"] == before["history"]  # nothing run, nothing set
    assert "was processed already (the OUS is in DeliveryInProgress); duplicate" in caplog.text
    assert bus.dead_letters() == []


def test_an_ous_processing_on_another_executive_is_not_taken_over(
    make_driver: MakeDriver, launcher: Launcher, xtss: Xtss, bus: MessageBus, store: Store
) -> None:
    message = launcher.launch(PROG, UID, executive="NA").message_id
    xtss.set_state(UID, State.PROCESSING, actor="pipeline-driver.NA")
    make_driver()
    stale = bus.send("pipeline.process.EU", {"progID": PROG, "ousUID": UID, "recipe": "R"})
    assert "cannot process" in wait_dead(bus, stale)["error"]
    assert entity(store)["state"] == "Processing" and message
