"""The seed's walk-throughs, end to end in a Sandbox: "Checking that all is OK" and the movies.

One OUS goes from launch to Delivered on each backend and the counts the
seed's README tells a person to check on the dashboard hold; nine OUSs
launched in a row all come to rest, and the failed ones get through when
launched again; the QA2 Fail, SemiPass and Cancel paths behave as AQUA's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from drwlab import Sandbox
from drwlab.lifecycle import FINAL_STATES
from drwlab.products import ProductsTree
from drwlab.store import Store
from drwlab.uids import uid_to_dirname

PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xb0"
MOVIES = [f"uid://X1/X1/Xb{c}" for c in "12345678a"]
RESTING = [s.value for s in FINAL_STATES]


def wait_until_quiet(store: Store, timeout: float = 20.0) -> int:
    """Messages still unread or in hand: once there are none, or after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    busy = {"$or": [{"consumed": False}, {"state": "claimed"}]}
    while True:
        seq = store.current_seq("msgq")
        left = store.count("msgq", busy)
        if left == 0 or time.monotonic() > deadline:
            return left
        store.wait_for_change("msgq", seq, 0.5)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A fast sandbox on SQLite where a person (the test) takes the QA2 decisions."""
    with Sandbox(
        workdir=tmp_path, time_scale=0, seed=1, failure_rate=0, autopilot=False
    ) as started:
        yield started


def wait_for_report(sandbox: Sandbox, uid: str, timeout: float = 20.0) -> None:
    """AQUA has stored the report of every successful run of ``uid`` (they come by message)."""
    deadline = time.monotonic() + timeout
    while True:
        seq = sandbox.store.current_seq("pipeline-reports")
        runs = [
            h for h in sandbox.entity(uid)["history"] if h["actor"].startswith("pipeline-driver")
        ]
        succeeded = sum(h["state"] == "ReadyForReview" for h in runs)
        if sandbox.store.count("pipeline-reports", {"ousUID": uid}) >= succeeded:
            return
        assert time.monotonic() < deadline, f"no pipeline report of {uid}"
        sandbox.store.wait_for_change("pipeline-reports", seq, 0.5)


def review_and_decide(sandbox: Sandbox, uid: str, flag: str) -> None:
    sandbox.wait_for(uid, "ReadyForReview", timeout=60)
    wait_for_report(sandbox, uid)
    review = sandbox.qa2.review(uid)
    assert review.state == "Reviewing" and sandbox.entity(uid)["state"] == "Reviewing"
    sandbox.qa2.decide(uid, flag)


def test_one_ous_goes_from_launch_to_delivered_and_all_is_ok(
    store_url: str, tmp_path: Path
) -> None:
    with Sandbox(
        store_url, tmp_path, time_scale=0, seed=1, failure_rate=0, autopilot=False
    ) as sandbox:
        sandbox.launch(PROG, UID, recipe="PipelineCalibration", executive="EU")
        sandbox.wait_for(UID, "ReadyForReview", timeout=60)
        assert wait_until_quiet(sandbox.store) == 0  # the weblog has reached the JAO cache
        assert UID in [e["entityId"] for e in sandbox.qa2.ready_for_review()]
        review = sandbox.qa2.review(UID)
        assert review.report.ous_uid == UID and review.report.scores
        assert review.weblog_url is not None
        assert requests.get(review.weblog_url, timeout=5).status_code == 200
        sandbox.qa2.decide(UID, "Pass")
        entity = sandbox.wait_for(UID, "Delivered", timeout=90)

        changes = [h for h in entity["history"] if h["operation"] != "clear-flag"]
        assert [(h["state"], h["substate"]) for h in changes] == [
            ("ReadyForProcessing", None),
            ("Processing", None),
            ("ReadyForReview", None),
            ("Reviewing", None),
            ("Verified", None),
            ("DeliveryInProgress", None),
            ("DeliveryInProgress", "IngestionTriggered"),
            ("DeliveryInProgress", "AnalyzingProducts"),
            ("DeliveryInProgress", "IngestingProducts"),
            ("DeliveryInProgress", "ProductsIngested"),
            ("Delivered", None),
        ]
        store = sandbox.store
        assert wait_until_quiet(store) == 0
        assert store.find("msgq", {"consumed": False}) == []
        assert store.count("pipeline-reports", {}) == 1
        [delivery] = store.all_docs("delivery-status")
        assert delivery["complete"] is True and len(delivery["dataProducts"]) == 5
        assert store.count("ngas", {}) == 6
        assert len([d for d in store.all_docs("ngas") if d["_id"].endswith(".zip")]) == 1
        assert store.count("products-metadata", {}) == 5
        assert_caches_hold_the_run(sandbox, review.products_dir, review.timestamp)


def assert_caches_hold_the_run(sandbox: Sandbox, products_dir: str, run_timestamp: str) -> None:
    """Both caches, on disk and over HTTP: products dir, weblog zip and expanded weblog."""
    tree = ProductsTree(sandbox.caches["JAO"], PROG, UID, run_timestamp)
    assert tree.products_dir == products_dir
    weblog = tree.weblog_path.name
    products = f"{products_dir}/SOUS/GOUS/{uid_to_dirname(UID)}/products/"
    for executive in ("EU", "JAO"):
        cache, url = sandbox.caches[executive], sandbox.urls[f"cache.{executive}"]
        assert (cache / products_dir).is_dir() and (cache / weblog).is_file()
        listing = requests.get(url, timeout=5).text
        assert products_dir in listing and weblog in listing
        assert "product-4-" in requests.get(url + products, timeout=5).text
        index = f"{sandbox.urls[f'weblogs.{executive}']}{weblog.removesuffix('.zip')}/index.html"
        assert requests.get(index, timeout=5).status_code == 200


def test_going_to_the_movies_nine_ouss_come_to_rest_and_failures_get_through_again(
    tmp_path: Path,
) -> None:
    # seed 17 at a 30% failure rate: three of the nine first runs fail
    with Sandbox(
        workdir=tmp_path, time_scale=0.05, seed=17, failure_rate=0.3, autopilot="Pass"
    ) as sandbox:
        for uid in MOVIES:
            sandbox.launch(PROG, uid)
            time.sleep(2 * sandbox.time_scale)  # the seed's "sleep 2", scaled down
        rested = {uid: sandbox.wait_for_any(uid, RESTING, timeout=120)["state"] for uid in MOVIES}
        failed = [uid for uid, state in rested.items() if state == "ProcessingProblem"]
        assert failed and len(failed) < len(MOVIES), rested

        for uid in failed:
            assert "processing problem" in sandbox.entity(uid)["problem"]
            for _ in range(5):
                sandbox.launch(PROG, uid)
                if sandbox.wait_for_any(uid, RESTING, timeout=60)["state"] == "Delivered":
                    break
        assert {sandbox.entity(uid)["state"] for uid in MOVIES} == {"Delivered"}
        assert sandbox.store.count("ngas", {}) == 6 * len(MOVIES)


def test_a_failed_review_sends_the_ous_back_and_a_relaunch_delivers_it(
    sandbox: Sandbox,
) -> None:
    sandbox.launch(PROG, UID)
    review_and_decide(sandbox, UID, "Fail")
    assert sandbox.entity(UID)["state"] == "ReadyForProcessing"
    sandbox.launch(PROG, UID)
    review_and_decide(sandbox, UID, "Pass")
    entity = sandbox.wait_for(UID, "Delivered", timeout=60)
    assert [h["state"] for h in entity["history"]].count("Processing") == 2
    assert sandbox.store.count("pipeline-reports", {}) == 2


def test_a_semipass_is_delivered_like_a_pass(sandbox: Sandbox) -> None:
    sandbox.launch(PROG, UID)
    review_and_decide(sandbox, UID, "SemiPass")
    entity = sandbox.wait_for(UID, "Delivered", timeout=60)
    assert any(h.get("reason") == "QA2 SemiPass" for h in entity["history"])
    assert sandbox.store.count("products-metadata", {}) == 5


def test_a_cancelled_review_puts_the_ous_back_on_the_list(sandbox: Sandbox) -> None:
    sandbox.launch(PROG, UID)
    review_and_decide(sandbox, UID, "Cancel")
    assert sandbox.entity(UID)["state"] == "ReadyForReview"
    assert [e["entityId"] for e in sandbox.qa2.ready_for_review()] == [UID]
    review_and_decide(sandbox, UID, "Pass")  # and it can be reviewed again
    sandbox.wait_for(UID, "Delivered", timeout=60)
