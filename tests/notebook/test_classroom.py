"""A class in notebooks: two learners' QA2 panels on one store, the instructor's live table.

Both learners see the OUS; the first to press Review gets it, the other's panel
says who has it; Pass in the winner's panel delivers it, and the instructor's
table, redrawn by itself, names the winner. On both stores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drwlab import notebook as nb
from drwlab.lifecycle import State
from drwlab.notebook.classroom import ClassReviews, Seat, reviews_html
from drwlab.sandbox import Sandbox
from drwlab.store import Store

PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xd1"
DEADLINE = 60.0


def wait_until(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.02)


@pytest.fixture
def instructor(store: Store, tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = nb.host_class(store, workdir=tmp_path, time_scale=0.0, seed=3, failure_rate=0)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def seats(instructor: Sandbox) -> Iterator[dict[str, Seat]]:
    cache = instructor.urls["cache.JAO"]
    joined: dict[str, Seat] = {}
    try:
        for name in ("ana", "bo"):
            joined[name] = nb.join_class(instructor.store, name, cache_url=cache, rest=0.05)
        yield joined
    finally:
        for seat in joined.values():
            seat.stop()


def test_the_first_review_wins_the_other_panel_says_who_and_the_table_names_the_winner(
    instructor: Sandbox, seats: dict[str, Seat]
) -> None:
    table = nb.class_reviews(instructor, rest=0.05)
    try:
        instructor.launch(PROG, UID)
        for seat in seats.values():
            wait_until(lambda seat=seat: UID in seat.panel.ready.options, "listed in both")
        ana, bo = seats["ana"].panel, seats["bo"].panel
        ana.select(UID)
        bo.select(UID)
        bo.stop()  # bo's list does not catch up before bo clicks: both press Review at once
        ana.review_button.click()
        assert ana.reviewing == UID
        bo.review_button.click()
        assert bo.reviewing is None
        assert f"{UID} is already under review by ana" in bo.message.value
        served = instructor.urls["cache.JAO"]
        assert served in ana.link.value  # the link goes to the class's cache
        assert f'<iframe src="{served}weblogs/' in ana.weblog.value  # and the page from there
        ana.pass_button.click()
        instructor.wait_for(UID, State.DELIVERED, timeout=DEADLINE)
        wait_until(lambda: "Pass" in table.table.value, "the decision in the live table")
        assert table.table.value == reviews_html(instructor.store)
        assert "ana" in table.table.value and "bo" not in table.table.value
    finally:
        table.stop()


def test_a_seat_shows_its_panel_and_leaving_stops_the_learner(seats: dict[str, Seat]) -> None:
    seat = seats["bo"]
    assert seat._repr_mimebundle_() == seat.panel._repr_mimebundle_()
    seat.stop()
    assert not seat.learner.running


def test_the_live_table_ends_with_the_instructors_sandbox(instructor: Sandbox) -> None:
    table = ClassReviews(instructor, rest=0.05).start()
    wait_until(lambda: "none" in table.table.value, "the empty table drawn")
    instructor.stop()
    wait_until(lambda: not table.follower.running, "the table stopped with the sandbox")
