"""AQUA QA2: reports stored once, review and the four decisions, autopilot, the terminal UI."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drwlab.actors.aqua_qa2 import AUTOPILOT_RETRY, AquaQA2, parse_flag
from drwlab.actors.aqua_tui import AquaTui, run_tui
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.cachefiles import expand_weblog
from drwlab.clearall import clear_all
from drwlab.errors import ReviewError
from drwlab.lifecycle import QA2Flag, State
from drwlab.products import ProductsTree
from drwlab.store import Store
from tests.actors.conftest import (
    UID,
    bring_to,
    entity,
    make_products,
    wait_dead,
    wait_done,
    wait_for_state,
    wait_until,
)

CACHE_URL = "http://127.0.0.1:8001/"
RUN_1 = "2018-07-19T07:10:03.781"
RUN_2 = "2018-07-20T09:00:00.000"


def report_body(tree: ProductsTree) -> dict[str, Any]:
    """The ``pipeline.report.JAO`` body the driver sends for ``tree``."""
    return {
        "ousUID": tree.uid,
        "source": "EU",
        "report": base64.b64encode(tree.report_path.read_bytes()).decode("ascii"),
        "timestamp": tree.timestamp,
        "productsDir": tree.products_dir,
    }


@pytest.fixture
def jao_tree(tmp_path: Path) -> ProductsTree:
    """A run's products in the JAO cache, its weblog expanded as the JAO cache does."""
    tree = make_products(tmp_path / "jao")
    expand_weblog(tree.weblog_path, tmp_path / "jao" / "weblogs")
    return tree


@pytest.fixture
def qa2(bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path) -> Iterator[AquaQA2]:
    actor = AquaQA2(bus, store, cache_dir=tmp_path / "jao", cache_url=CACHE_URL).start()
    yield actor
    actor.stop()


@pytest.fixture
def ready(qa2: AquaQA2, xtss: Xtss, bus: MessageBus, store: Store, jao_tree: ProductsTree) -> str:
    """An OUS in ReadyForReview whose report is stored."""
    bring_to(xtss, State.READY_FOR_REVIEW)
    wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
    return UID


def test_a_report_is_stored_once_even_if_delivered_twice(
    qa2: AquaQA2, bus: MessageBus, store: Store, jao_tree: ProductsTree
) -> None:
    for _ in range(2):
        wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
    [doc] = store.all_docs("pipeline-reports")
    assert doc["_id"] == "uid___X1_X1_Xb2-2018_07_19T07_10_03.781"
    assert {k: v for k, v in doc.items() if not k.startswith("_")} == report_body(jao_tree)


@pytest.mark.parametrize(
    "change",
    [
        {"report": "not base64!"},
        {"report": base64.b64encode(b"<html/>").decode()},
        {"ousUID": "uid://X1/X1/Xff"},
        {"productsDir": "../elsewhere"},
        {"timestamp": "yesterday"},
        {"source": "ESO"},
    ],
    ids=["base64", "not-a-report", "other-ous", "products-dir", "timestamp", "source"],
)
def test_malformed_reports_are_dead_lettered_and_qa2_carries_on(
    qa2: AquaQA2, bus: MessageBus, store: Store, jao_tree: ProductsTree, change: dict[str, str]
) -> None:
    bad = bus.send("pipeline.report.JAO", {**report_body(jao_tree), **change})
    assert wait_dead(bus, bad)["error"]
    wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
    assert len(store.all_docs("pipeline-reports")) == 1
    assert qa2.is_alive


def test_review_starts_reviewing_and_shows_scores_and_weblog(
    qa2: AquaQA2, ready: str, store: Store, tmp_path: Path
) -> None:
    assert [d["entityId"] for d in qa2.ready_for_review()] == [ready]
    review = qa2.review(ready)
    assert review.state == "Reviewing" and entity(store)["state"] == "Reviewing"
    assert review.report.ous_uid == ready and len(review.report.scores) == 10
    assert all(0 <= s.score <= 1 for s in review.report.scores)
    assert review.report_xml.startswith("<?xml")
    assert review.weblog_path is not None and review.weblog_path.is_file()
    assert review.weblog_path.is_relative_to(tmp_path / "jao" / "weblogs")
    stem = review.weblog_path.parent.name
    assert review.weblog_url == f"{CACHE_URL}weblogs/{stem}/index.html"
    assert qa2.ready_for_review() == []


def test_review_needs_a_ready_ous_with_its_report(qa2: AquaQA2, xtss: Xtss) -> None:
    bring_to(xtss, State.READY_FOR_REVIEW, run=RUN_2)
    qa2.report_wait = 0.2
    with pytest.raises(ReviewError, match=f"report of its pipeline run {RUN_2} has not arrived"):
        qa2.review(UID)
    assert entity_state(qa2) == "ReadyForReview"
    bring_to(xtss, State.PROCESSING, uid="uid://X1/X1/Xc1")
    with pytest.raises(ReviewError, match="uid://X1/X1/Xc1 is in Processing"):
        qa2.review("uid://X1/X1/Xc1")


def entity_state(qa2: AquaQA2) -> str:
    return str(qa2.entity(UID)["state"])


def test_review_waits_for_the_report_of_the_run_the_ous_is_in(
    qa2: AquaQA2, xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    first = make_products(tmp_path / "jao", timestamp=RUN_1)
    wait_done(store, bus.send("pipeline.report.JAO", report_body(first)))
    bring_to(xtss, State.READY_FOR_REVIEW, run=RUN_2)
    assert qa2.ready_for_review() == []  # its run's report is not there: not reviewable yet
    second = make_products(tmp_path / "jao", timestamp=RUN_2)
    bus.send("pipeline.report.JAO", report_body(second))  # on its way as the review starts
    review = qa2.review(UID)
    assert review.timestamp == RUN_2 and review.products_dir == second.products_dir
    assert entity_state(qa2) == "Reviewing"


def test_a_pass_ingests_the_products_of_the_run_reviewed(
    qa2: AquaQA2, xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    bring_to(xtss, State.READY_FOR_REVIEW, run=RUN_1)
    for run in (RUN_1, RUN_2):  # a later run's report arriving early changes nothing
        tree = make_products(tmp_path / "jao", timestamp=run)
        wait_done(store, bus.send("pipeline.report.JAO", report_body(tree)))
    assert qa2.review(UID).timestamp == RUN_1
    qa2.decide(UID, "Pass")
    [request] = bus.unread("ingest.JAO")
    assert request["body"]["timestamp"] == RUN_1


@pytest.mark.parametrize(
    ("flag", "state"),
    [
        ("Pass", "DeliveryInProgress"),
        ("semipass", "DeliveryInProgress"),
        ("FAIL", "ReadyForProcessing"),
        (QA2Flag.CANCEL, "ReadyForReview"),
    ],
)
def test_each_decision_moves_the_ous_as_the_original_did(
    qa2: AquaQA2,
    ready: str,
    bus: MessageBus,
    store: Store,
    jao_tree: ProductsTree,
    flag: str,
    state: str,
) -> None:
    qa2.review(ready)
    assert qa2.decide(ready, flag)["state"] == state
    states = [h["state"] for h in entity(store)["history"]]
    ingest = [m["body"] for m in bus.unread("ingest.JAO")]
    if state == "DeliveryInProgress":
        assert states[-3:] == ["Reviewing", "Verified", "DeliveryInProgress"]
        assert ingest == [
            {"ousUID": ready, "timestamp": jao_tree.timestamp, "productsDir": jao_tree.products_dir}
        ]
    else:
        assert states[-2:] == ["Reviewing", state]
        assert ingest == []


def test_deciding_on_an_ous_not_under_review_names_it_and_its_state(
    qa2: AquaQA2, ready: str
) -> None:
    with pytest.raises(ReviewError, match=f"{ready} is in ReadyForReview, not Reviewing"):
        qa2.decide(ready, "Pass")
    with pytest.raises(ValueError, match="unknown QA2 flag"):
        parse_flag("Maybe")


def test_the_autopilot_passes_every_ous_ready_for_review(
    bus: MessageBus, store: Store, xtss: Xtss, jao_tree: ProductsTree, tmp_path: Path
) -> None:
    pilot = AquaQA2(bus, store, cache_dir=tmp_path / "jao", autopilot="Pass").start()
    try:
        bring_to(xtss, State.READY_FOR_REVIEW)
        bus.send("pipeline.report.JAO", report_body(jao_tree))
        doc = wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS)
        assert [h["reason"] for h in doc["history"][-3:-1]] == ["QA2 review started", "QA2 Pass"]
        wait_until(lambda: bus.unread("ingest.JAO"))
    finally:
        pilot.stop()
    assert not pilot.is_alive


def autopilot_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The databases the autopilot's threads read documents of by id, from now on."""
    reads: list[str] = []
    real_get = store.get

    def noting_get(db: str, doc_id: str, *args: Any, **options: Any) -> Any:
        if threading.current_thread().name.startswith("drwlab-actor-aqua-qa2-autopilot"):
            reads.append(db)
        return real_get(db, doc_id, *args, **options)

    monkeypatch.setattr(store, "get", noting_get)
    return reads


def test_the_autopilot_goes_by_the_entity_it_holds_without_reading_it_again(
    bus: MessageBus,
    store: Store,
    xtss: Xtss,
    jao_tree: ProductsTree,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a server every read is a request: the autopilot decides by the entity the
    change feed brought and the ones the XTSS answers with, without reading it again."""
    reads = autopilot_reads(store, monkeypatch)
    pilot = AquaQA2(bus, store, cache_dir=tmp_path / "jao", autopilot="Pass").start()
    try:
        bring_to(xtss, State.READY_FOR_REVIEW)
        wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
        doc = wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS)
    finally:
        pilot.stop()
    assert [h["reason"] for h in doc["history"][-3:-1]] == ["QA2 review started", "QA2 Pass"]
    assert "status-entities" not in reads, reads  # three reads before: review, decide, deliver


def test_the_autopilot_reads_the_report_of_an_ous_waiting_for_its_weblog_once(
    bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the weblog is on its way the autopilot looks again every AUTOPILOT_RETRY s;
    the stored report cannot change, so it is not read again at each look."""
    tree = make_products(tmp_path / "runs")  # its weblog not yet in the JAO cache
    reads = autopilot_reads(store, monkeypatch)
    pilot = AquaQA2(bus, store, cache_dir=tmp_path / "jao", autopilot="Pass").start()
    try:
        bring_to(xtss, State.READY_FOR_REVIEW, run=tree.timestamp)
        wait_done(store, bus.send("pipeline.report.JAO", report_body(tree)))
        wait_until(lambda: "pipeline-reports" in reads)
        reads.clear()  # the report was looked for, and perhaps found already
        time.sleep(10 * AUTOPILOT_RETRY)  # some looks, the weblog still missing
        assert entity(store, UID)["state"] == "ReadyForReview"
        assert reads.count("pipeline-reports") <= 1
        (tmp_path / "jao" / "weblogs").mkdir(parents=True)  # the JAO cache's work:
        expand_weblog(tree.weblog_path, tmp_path / "jao" / "weblogs")
        wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS)
    finally:
        pilot.stop()


def test_the_autopilot_decides_several_ouss_at_once(
    qa2: AquaQA2, bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path
) -> None:
    """A decision that takes long (here a rule of one's own that waits) does not hold up
    the other OUSs ready for review: they are decided meanwhile."""
    slow, quick = "uid://X1/X1/Xc1", "uid://X1/X1/Xc2"
    for uid in (slow, quick):
        tree = make_products(tmp_path / "jao", uid=uid)
        expand_weblog(tree.weblog_path, tmp_path / "jao" / "weblogs")
        bring_to(xtss, State.READY_FOR_REVIEW, uid=uid)
        wait_done(store, bus.send("pipeline.report.JAO", report_body(tree)))
    release = threading.Event()

    def rule(review: Any) -> str:
        if review.uid == slow:
            release.wait(30)
        return "Pass"

    pilot = AquaQA2(bus, store, cache_dir=tmp_path / "jao", autopilot=rule).start()
    try:
        wait_for_state(store, quick, State.DELIVERY_IN_PROGRESS)
        assert entity(store, slow)["state"] == "Reviewing"  # its rule is still deciding
        release.set()
        wait_for_state(store, slow, State.DELIVERY_IN_PROGRESS)
    finally:
        release.set()
        pilot.stop()


def test_the_autopilot_decides_an_ous_left_in_reviewing(
    bus: MessageBus, store: Store, xtss: Xtss, jao_tree: ProductsTree, tmp_path: Path
) -> None:
    # as after an outage between review() and decide(): nobody else will decide it
    bring_to(xtss, State.REVIEWING)
    pilot = AquaQA2(bus, store, cache_dir=tmp_path / "jao", autopilot="Pass").start()
    try:
        wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
        doc = wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS)
        assert [h["state"] for h in doc["history"][-3:]] == [
            "Reviewing",
            "Verified",
            "DeliveryInProgress",
        ]
    finally:
        pilot.stop()


def test_the_autopilot_lets_go_of_an_ous_deleted_by_a_reset(
    bus: MessageBus, store: Store, xtss: Xtss, jao_tree: ProductsTree, tmp_path: Path
) -> None:
    bring_to(xtss, State.READY_FOR_REVIEW)  # its report never comes: the autopilot waits
    pilot = AquaQA2(bus, store, cache_dir=tmp_path / "jao", autopilot="Pass").start()
    asked: list[str] = []
    real_find = store.find

    def counting_find(db: str, selector: Any, **options: Any) -> Any:
        asked.append(db)
        return real_find(db, selector, **options)

    try:
        wait_until(lambda: pilot.is_alive)
        store.find = counting_find  # type: ignore[method-assign]
        wait_until(lambda: asked.count("pipeline-reports") >= 2)  # looks for the report
        clear_all(store, running=True)

        def no_look_for(seconds: float) -> bool:
            asked.clear()
            time.sleep(seconds)
            return "pipeline-reports" not in asked

        # once the reset's changes reach the autopilot (later on a loaded machine) it
        # stops looking; while it waits for a report it looks every AUTOPILOT_RETRY s
        wait_until(lambda: no_look_for(5 * AUTOPILOT_RETRY), timeout=10)
        asked.clear()
        time.sleep(1.0)
        assert asked.count("pipeline-reports") == 0, asked  # no OUS left to wait for
        bring_to(xtss, State.READY_FOR_REVIEW)  # and it sees a new one
        wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
        wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS)
    finally:
        store.find = real_find  # type: ignore[method-assign]
        pilot.stop()


def test_a_delivery_interrupted_after_verified_is_finished_later(
    bus: MessageBus, store: Store, xtss: Xtss, jao_tree: ProductsTree, tmp_path: Path
) -> None:
    # a Pass whose ingestion request was never sent (the store went away after
    # Verified): AQUA notices the OUS sitting in Verified and sends it
    bring_to(xtss, State.REVIEWING)
    qa2 = AquaQA2(bus, store, cache_dir=tmp_path / "jao", resume_after=0.5).start()
    try:
        wait_done(store, bus.send("pipeline.report.JAO", report_body(jao_tree)))
        xtss.set_state(UID, State.VERIFIED, actor="test", reason="QA2 Pass")
        doc = wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS)
        assert doc["history"][-1]["reason"] == "ingestion requested"
        assert [m["body"] for m in bus.unread("ingest.JAO")] == [
            {"ousUID": UID, "timestamp": jao_tree.timestamp, "productsDir": jao_tree.products_dir}
        ]
    finally:
        qa2.stop()


def test_the_terminal_ui_lists_reviews_and_passes_an_ous(qa2: AquaQA2, ready: str) -> None:
    out = io.StringIO()
    AquaTui(qa2, stdin=io.StringIO(f"\n{ready}\nx\np\nq\n"), stdout=out).run()
    text = out.getvalue()
    assert "OUSs ready to be reviewed:" in text and ready in text
    assert "hifa_bandpass" in text and "Overall QA score" in text
    assert f"Weblog: {CACHE_URL}weblogs/" in text
    assert "Please answer P, S, F or C." in text
    assert f"{ready}: Pass; now DeliveryInProgress" in text
    assert "No OUSs ready to be reviewed." in text


def test_the_terminal_ui_reports_errors_and_cancels_at_end_of_input(
    qa2: AquaQA2, ready: str, store: Store
) -> None:
    out = io.StringIO()
    assert run_tui(qa2, stdin=io.StringIO(f"uid://nope\n{ready}\n"), stdout=out) == 0
    text = out.getvalue()
    assert "Cannot review uid://nope" in text
    assert f"{ready}: Cancel; now ReadyForReview" in text
    assert entity(store)["state"] == "ReadyForReview"
