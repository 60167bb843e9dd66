"""The live pictures redraw themselves from the follower's thread when their data change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab import MessageBus, Sandbox
from drwlab.notebook.pictures import LivePicture, live_sequence, live_timeline, system_map
from drwlab.store import Store
from tests.notebook.test_live import FAST, put_ous, wait_until

UID = "uid://X1/X1/Xb0"


@pytest.fixture
def pictures() -> Iterator[list[LivePicture]]:
    """Pictures made by a test; all stopped afterwards."""
    made: list[LivePicture] = []
    yield made
    for picture in made:
        picture.stop()


def test_the_sequence_grows_when_a_message_about_the_ous_arrives(
    store: Store, pictures: list[LivePicture]
) -> None:
    picture = live_sequence(store, UID, rest=FAST)
    pictures.append(picture)
    wait_until(lambda: "no messages for this OUS" in picture.widget.value)
    bus = MessageBus(store)
    bus.send("pipeline.process.EU", {"ousUID": UID}, sender="launcher")
    wait_until(lambda: "<svg" in picture.widget.value)
    assert "pipeline.process.EU" in picture.widget.value and "launcher" in picture.widget.value


def test_the_timeline_shows_a_new_ous_without_running_anything(
    store: Store, pictures: list[LivePicture]
) -> None:
    picture = live_timeline(store, rest=FAST)
    pictures.append(picture)
    wait_until(lambda: "no state history yet" in picture.widget.value)
    put_ous(
        store,
        UID,
        history=[{"state": "ReadyForProcessing", "timestamp": "2018-07-19T08:50:10.228"}],
    )
    wait_until(lambda: f'data-uid="{UID}"' in picture.widget.value)


def test_the_map_counts_each_message_as_it_is_sent(
    store: Store, pictures: list[LivePicture]
) -> None:
    picture = system_map(store, highlight="Processing", rest=FAST)
    pictures.append(picture)
    wait_until(lambda: "pipeline.process.*: 0" in picture.widget.value)
    assert 'class="actor highlighted" data-actor="pipeline driver"' in picture.widget.value
    MessageBus(store).send("pipeline.process.EU", {"ousUID": UID})
    wait_until(lambda: "pipeline.process.*: 1" in picture.widget.value)
    assert "drwlab-system-map" in picture.widget._dom_classes


def test_stopping_the_sandbox_stops_its_pictures(tmp_path: Path) -> None:
    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        made = [system_map(sandbox, rest=FAST), live_timeline(sandbox, rest=FAST)]
        wait_until(lambda: all(picture.renders >= 1 for picture in made))
    finally:
        sandbox.stop()
    wait_until(lambda: not any(picture.running for picture in made), timeout=2.0)


def test_the_map_of_a_sandbox_shows_an_actor_of_your_own_once_added(tmp_path: Path) -> None:
    from drwlab import Actor

    class Greeter(Actor):
        """An actor of the test's own: it only listens."""

        def on_start(self) -> None:
            self.listen("greetings", lambda body: None)

    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0).start()
    try:
        picture = system_map(sandbox, rest=FAST)
        wait_until(lambda: picture.renders >= 1)
        assert 'data-actor="greeter"' not in picture.widget.value
        sandbox.add_actor(Greeter(sandbox.bus, sandbox.store))
        sandbox.bus.send("greetings", {"hello": 1})  # any message redraws the map
        wait_until(lambda: 'class="actor yours" data-actor="greeter"' in picture.widget.value)
        assert 'data-actor="xtss"' not in picture.widget.value  # stock actors keep their boxes
    finally:
        sandbox.stop()


def test_the_map_asked_for_again_is_the_one_that_runs(tmp_path: Path) -> None:
    sandbox = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0)
    try:
        picture = system_map(sandbox, highlight="Processing", rest=FAST)
        assert system_map(sandbox, highlight="Processing", rest=FAST) is picture
        assert system_map(sandbox, highlight="Reviewing", rest=FAST) is not picture
    finally:
        sandbox.stop()
    wait_until(lambda: not picture.running, timeout=2.0)
