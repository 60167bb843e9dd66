"""The README's review flow on many OUSs at once: ReadyForReview is reviewable, and a
review shows the run being reviewed, through a QA2 Fail and a second pipeline run.

``sb.wait_for(uid, "ReadyForReview")`` then ``sb.qa2.review(uid)``, at time scale 0,
on every backend: no refusal right after ``wait_for``, never the previous run's
report, and a Pass ingests the products of the run that was reviewed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab import Sandbox
from drwlab.actors.xtss import RUN_FIELD
from drwlab.lifecycle import QA2Flag, State
from drwlab.products import products_dir_name

PROG = "2015.1.00657.S"
UIDS = [f"uid://X1/X2/X{n:x}" for n in range(0xA0, 0xA0 + 16)]


@pytest.fixture
def sandbox(store_url: str, tmp_path: Path) -> Iterator[Sandbox]:
    """A fast sandbox where the test takes every QA2 decision, with two pipeline runs
    at a time, so that runs and reports of different OUSs overtake one another."""
    with Sandbox(
        store=store_url,
        workdir=tmp_path,
        time_scale=0,
        seed=3,
        failure_rate=0,
        autopilot=False,
        max_runs=2,
    ) as started:
        yield started


def review_all(sandbox: Sandbox, flag: QA2Flag) -> dict[str, str]:
    """Wait for each OUS to be ReadyForReview, review it at once, decide; uid -> run shown."""
    shown = {}
    for uid in UIDS:
        entity = sandbox.wait_for(uid, State.READY_FOR_REVIEW, timeout=120)
        review = sandbox.qa2.review(uid)  # must not refuse right after wait_for
        assert review.timestamp == entity[RUN_FIELD], f"{uid} showed another run's report"
        shown[uid] = review.timestamp
        sandbox.qa2.decide(uid, flag)
    return shown


def test_each_review_shows_the_run_being_reviewed_through_a_fail_and_a_relaunch(
    sandbox: Sandbox,
) -> None:
    for uid in UIDS:
        sandbox.launch(PROG, uid)
    first = review_all(sandbox, QA2Flag.FAIL)
    for uid in UIDS:
        sandbox.launch(PROG, uid)  # the reviewer's Fail: process it again
    second = review_all(sandbox, QA2Flag.PASS)
    assert all(second[uid] > first[uid] for uid in UIDS), "a second review showed the first run"
    for uid in UIDS:
        sandbox.wait_for(uid, State.DELIVERED, timeout=120)
        ingested = sandbox.store.find("products-metadata", {"ousUID": uid})
        assert ingested and {doc["timestamp"] for doc in ingested} == {second[uid]}
        status = sandbox.store.get("delivery-status", "uid___" + uid[6:].replace("/", "_"))
        assert status["productsDir"] == products_dir_name(PROG, second[uid])
    assert sandbox.bus.dead_letters() == []
