"""Several AQUAs on one store, each with its reviewer: one review per OUS, decided by its
reviewer only, and the reviewer recorded in the history (a class, docs/classroom.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.aqua_qa2 import AquaQA2, Review
from drwlab.actors.qa2_reviews import reviewer_of, reviews_of
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.cachefiles import expand_weblog
from drwlab.errors import ReviewError
from drwlab.lifecycle import State
from drwlab.store import Store
from tests.actors.conftest import UID, bring_to, entity, make_products, wait_done, wait_for_state
from tests.actors.test_aqua_qa2 import CACHE_URL, report_body

OTHER = "uid://X1/X1/Xb3"


def reviewer(bus: MessageBus, store: Store, name: str, autopilot: str | None = None) -> AquaQA2:
    """A learner's AQUA: no JAO cache on its host, weblogs linked at the class's cache."""
    return AquaQA2(
        bus,
        store,
        cache_dir=None,
        cache_url=CACHE_URL,
        autopilot=autopilot,
        name=f"aqua-qa2.{name}",
        reviewer=name,
    ).start()


@pytest.fixture
def learners(bus: MessageBus, store: Store, xtss: Xtss) -> Iterator[dict[str, AquaQA2]]:
    started = {name: reviewer(bus, store, name) for name in ("ana", "bo")}
    yield started
    for actor in started.values():
        actor.stop()


def make_ready(xtss: Xtss, bus: MessageBus, store: Store, root: Path, uid: str = UID) -> str:
    """``uid`` in ReadyForReview, its run's report stored."""
    tree = make_products(root / uid.rsplit("/", 1)[1], uid=uid)
    bring_to(xtss, State.READY_FOR_REVIEW, uid=uid, run=tree.timestamp)
    wait_done(store, bus.send("pipeline.report.JAO", report_body(tree)))
    return uid


def test_two_reviewers_pressing_review_at_once_one_gets_the_ous_the_other_is_told_who(
    learners: dict[str, AquaQA2], xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    make_ready(xtss, bus, store, tmp_path)
    both = threading.Barrier(len(learners))
    outcomes: dict[str, Review | ReviewError] = {}

    def press_review(name: str) -> None:
        both.wait(5)
        try:
            outcomes[name] = learners[name].review(UID)
        except ReviewError as error:
            outcomes[name] = error

    threads = [threading.Thread(target=press_review, args=(n,)) for n in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    [winner] = [name for name, got in outcomes.items() if isinstance(got, Review)]
    [loser] = [name for name in learners if name != winner]
    assert f"{UID} is already under review by {winner}" in str(outcomes[loser])
    reviewed = entity(store)
    assert reviewed["state"] == "Reviewing" and reviewer_of(reviewed) == winner
    assert [(r.reviewer, r.decision) for r in reviews_of(reviewed)] == [(winner, None)]


def test_only_the_reviewer_who_has_the_ous_decides_it(
    learners: dict[str, AquaQA2], xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    make_ready(xtss, bus, store, tmp_path)
    learners["ana"].review(UID)
    with pytest.raises(ReviewError, match=f"{UID} is already under review by ana"):
        learners["bo"].review(UID)
    with pytest.raises(ReviewError, match=f"{UID} is under review by ana, not bo"):
        learners["bo"].decide(UID, "Fail")
    assert entity(store)["state"] == "Reviewing"
    learners["ana"].decide(UID, "Pass")
    [record] = reviews_of(wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS))
    assert (record.reviewer, record.decision, record.decided_by) == ("ana", "Pass", "ana")


def test_a_reviewer_without_a_cache_links_the_weblog_in_the_class_cache(
    learners: dict[str, AquaQA2], xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    make_ready(xtss, bus, store, tmp_path)
    review = learners["bo"].review(UID)
    assert review.weblog_path is None
    assert review.weblog_url is not None and review.weblog_url.startswith(CACHE_URL)
    # the page the link names is where the class's JAO cache expands this run's weblog
    jao_cache = tmp_path / "jao"
    (jao_cache / "weblogs").mkdir(parents=True)
    expand_weblog(make_products(tmp_path / "eu").weblog_path, jao_cache / "weblogs")
    assert (jao_cache / review.weblog_url.removeprefix(CACHE_URL)).is_file()


def test_a_reviewers_autopilot_leaves_another_reviewers_ous_alone(
    learners: dict[str, AquaQA2], xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    make_ready(xtss, bus, store, tmp_path)
    learners["ana"].review(UID)
    robot = reviewer(bus, store, "robot", autopilot="Pass")
    try:
        make_ready(xtss, bus, store, tmp_path, OTHER)
        [record] = reviews_of(wait_for_state(store, OTHER, State.DELIVERY_IN_PROGRESS))
        assert (record.reviewer, record.decision) == ("robot", "Pass")
        assert entity(store)["state"] == "Reviewing"
        assert reviewer_of(entity(store)) == "ana"
    finally:
        robot.stop()


def test_an_aqua_without_a_reviewer_records_itself_as_before(
    bus: MessageBus, store: Store, xtss: Xtss, tmp_path: Path
) -> None:
    plain = AquaQA2(bus, store, cache_dir=tmp_path / "jao").start()
    try:
        make_ready(xtss, bus, store, tmp_path)
        plain.review(UID)
        plain.decide(UID, "SemiPass")
        [record] = reviews_of(entity(store))
        assert (record.reviewer, record.decision) == ("aqua-qa2", "SemiPass")
    finally:
        plain.stop()


def test_the_instructors_aqua_cancels_a_review_a_learner_left_and_another_takes_it(
    learners: dict[str, AquaQA2], xtss: Xtss, bus: MessageBus, store: Store, tmp_path: Path
) -> None:
    make_ready(xtss, bus, store, tmp_path)
    learners["ana"].review(UID)  # ... and ana leaves the class
    instructors = AquaQA2(bus, store, cache_dir=tmp_path / "jao").start()
    try:
        instructors.decide(UID, "Cancel")
    finally:
        instructors.stop()
    learners["bo"].review(UID)
    learners["bo"].decide(UID, "Pass")
    found = reviews_of(wait_for_state(store, UID, State.DELIVERY_IN_PROGRESS))
    assert [(r.reviewer, r.decision, r.decided_by) for r in found] == [
        ("ana", "Cancel", "aqua-qa2"),
        ("bo", "Pass", "bo"),
    ]
