"""``sb.qa2`` says which AQUA QA2 answers: the running one, its replacement, or why there is none.

A learner who stopped or replaced the stock AQUA (notebook 06) and then asks
``sb.qa2`` must get the actor that now runs as ``aqua-qa2``, or an error that
says what happened to it; never "the sandbox is stopped" while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab import Sandbox
from drwlab.actors import AquaQA2


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(workdir=tmp_path, time_scale=0.0, seed=1, failure_rate=0.0, autopilot=False)
    try:
        yield running
    finally:
        running.stop()


def another_aqua(sandbox: Sandbox) -> AquaQA2:
    return AquaQA2(
        sandbox.bus,
        sandbox.store,
        cache_dir=sandbox.caches["JAO"],
        cache_url=sandbox.urls["cache.JAO"],
        autopilot="Fail",
    )


def test_qa2_after_the_actor_was_stopped_says_it_was_stopped(sandbox: Sandbox) -> None:
    sandbox.stop_actor("aqua-qa2")
    with pytest.raises(RuntimeError, match=r"'aqua-qa2' was stopped \(stop_actor\)"):
        sandbox.qa2  # noqa: B018 - the property is what is tested
    assert sandbox.running


def test_qa2_after_a_stop_and_a_new_one_added_is_the_new_one(sandbox: Sandbox) -> None:
    sandbox.stop_actor("aqua-qa2")
    new = sandbox.add_actor(another_aqua(sandbox), "aqua-qa2")
    assert sandbox.qa2 is new
    assert sandbox.qa2.ready_for_review() == []


def test_qa2_after_a_replacement_is_the_replacement(sandbox: Sandbox) -> None:
    stock = sandbox.qa2
    replacement = another_aqua(sandbox)
    sandbox.replace_actor("aqua-qa2", replacement)
    assert sandbox.qa2 is replacement and sandbox.qa2 is not stock
    assert sandbox.qa2.autopilot is not None


def test_qa2_of_a_crashed_aqua_says_it_is_dead(sandbox: Sandbox) -> None:
    sandbox.crash("aqua-qa2")
    with pytest.raises(RuntimeError, match=r"'aqua-qa2' is dead .*replace_actor"):
        sandbox.qa2  # noqa: B018
    sandbox.replace_actor("aqua-qa2", another_aqua(sandbox))
    assert sandbox.qa2.is_alive


def test_qa2_of_a_stopped_sandbox_says_the_sandbox_is_stopped(sandbox: Sandbox) -> None:
    sandbox.stop()
    with pytest.raises(RuntimeError, match="the sandbox is stopped: call start"):
        sandbox.qa2  # noqa: B018
    sandbox.start()
    assert sandbox.qa2.is_alive
