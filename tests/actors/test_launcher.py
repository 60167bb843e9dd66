"""The launcher: creates or requeues the OUS, sends the processing request, refuses typos."""

from __future__ import annotations

import pytest

from drwlab.actors.launcher import Launcher
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.errors import IllegalTransition, InvalidMessage, InvalidUid
from drwlab.lifecycle import State
from drwlab.store import Store
from tests.actors.conftest import PROG, UID, bring_to, entity


@pytest.fixture
def launcher(bus: MessageBus, store: Store, xtss: Xtss) -> Launcher:
    return Launcher(bus, store)


def test_a_launch_creates_the_ous_and_asks_its_executive_to_process_it(
    launcher: Launcher, bus: MessageBus, store: Store
) -> None:
    launched = launcher.launch(PROG, UID, "PipelineImaging", "NA")
    doc = entity(store)
    assert doc["state"] == "ReadyForProcessing"
    assert doc["pipeline-recipe"] == "PipelineImaging"
    assert doc["flags"]["PL_PROCESSING_EXECUTIVE"] == "NA"
    assert doc["history"][0]["actor"] == "launcher"
    [message] = bus.unread("pipeline.process.NA")
    assert message["_id"] == launched.message_id
    assert message["body"] == {"progID": PROG, "ousUID": UID, "recipe": "PipelineImaging"}


def test_a_processing_problem_can_be_launched_again(
    launcher: Launcher, xtss: Xtss, store: Store
) -> None:
    bring_to(xtss, State.PROCESSING_PROBLEM)
    launcher.launch(PROG, UID)
    assert entity(store)["state"] == "ReadyForProcessing"


def test_an_ous_under_review_cannot_be_launched(
    launcher: Launcher, xtss: Xtss, bus: MessageBus
) -> None:
    bring_to(xtss, State.READY_FOR_REVIEW)
    with pytest.raises(IllegalTransition, match="ReadyForReview"):
        launcher.launch(PROG, UID)
    assert bus.unread("pipeline.process.EU") == []


@pytest.mark.parametrize(
    ("prog_id", "uid", "recipe", "executive", "error", "match"),
    [
        (PROG, "uid://X1/X1", "PipelineCalibration", "EU", InvalidUid, "uid"),
        (PROG, "X1/X1/Xb2", "PipelineCalibration", "EU", InvalidUid, "uid"),
        (PROG, UID, "PipelineCalibration", "ESO", InvalidMessage, "executive 'ESO'"),
        ("", UID, "PipelineCalibration", "EU", InvalidMessage, "project code"),
        ("../etc", UID, "PipelineCalibration", "EU", InvalidMessage, "project code"),
        (PROG, UID, "", "EU", InvalidMessage, "recipe"),
    ],
    ids=["short-uid", "no-scheme", "executive", "empty-prog", "path-prog", "empty-recipe"],
)
def test_malformed_launches_are_refused_before_anything_is_written(
    launcher: Launcher,
    bus: MessageBus,
    store: Store,
    prog_id: str,
    uid: str,
    recipe: str,
    executive: str,
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        launcher.launch(prog_id, uid, recipe, executive)
    assert store.all_docs("status-entities") == []
    assert bus.unread() == []
