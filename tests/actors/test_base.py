"""What every actor relies on: telling a message delivered before from a first delivery."""

from __future__ import annotations

import threading

from drwlab.actors import is_redelivery
from drwlab.bus import MessageBus
from drwlab.bus.message import DB, new_message
from drwlab.faults import requeue
from tests.actors.conftest import wait_until


def test_a_first_delivery_is_not_a_redelivery_and_a_second_one_is() -> None:
    message = new_message("cached.EU", {"name": "x.fits"})
    assert not is_redelivery({**message, "attempts": 1})
    assert is_redelivery({**message, "attempts": 2})
    assert not is_redelivery({**message, "attempts": "2"})  # another tool's field: not ours


def test_a_requeued_dead_letter_is_a_redelivery_from_its_first_new_attempt(
    bus: MessageBus,
) -> None:
    seen: list[tuple[int, bool]] = []
    fixed = threading.Event()

    def handle(message: dict[str, object]) -> None:
        seen.append((int(str(message["attempts"])), is_redelivery(message)))
        if not fixed.is_set():
            raise RuntimeError("half done, then failed")

    bus.listen("poison", handle, full_message=True)
    message_id = bus.send("poison", {"file": "X2.fits"})
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "dead")
    fixed.set()
    requeue(bus, message_id, by="a learner")
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "done")

    assert seen == [(1, False), (2, True), (3, True), (1, True)]
