"""A poison message: retried, dead-lettered with its error, fixed, re-queued, handled once."""

from __future__ import annotations

import pytest

from drwlab.bus import MessageBus
from drwlab.bus.message import DB
from drwlab.errors import InvalidMessage, NotFound
from drwlab.faults import fault_events, requeue
from tests.bus.conftest import wait_until


def test_a_dead_letter_requeued_after_the_fix_is_handled_once(bus: MessageBus) -> None:
    calls: list[str] = []
    broken = True

    def handler(body: dict[str, str]) -> None:
        calls.append(body["ous"])
        if broken:
            raise RuntimeError(f"cannot read {body['ous']}")

    bus.listen("poison", handler)
    message_id = bus.send("poison", {"ous": "uid://X1/X1/Xb2"})
    bus.send("poison", {"ous": "uid://X1/X1/Xb3"})  # the next message still flows
    wait_until(lambda: len(bus.dead_letters()) == 2)
    assert len(calls) == 2 * bus.max_attempts
    dead = bus.store.get(DB, message_id)
    assert dead["error"] == "RuntimeError: cannot read uid://X1/X1/Xb2"
    assert [e["attempt"] for e in dead["errorHistory"]] == [1, 2, 3]

    broken = False  # the learner fixes the cause
    requeued = requeue(bus, message_id, by="a learner")
    assert (requeued["state"], requeued["consumed"], requeued["attempts"]) == ("pending", False, 0)
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "done")

    assert calls.count("uid://X1/X1/Xb2") == bus.max_attempts + 1  # once more, and once only
    done = bus.store.get(DB, message_id)
    assert done["attempts"] == 1
    assert len(done["errorHistory"]) == 3  # what went wrong before stays on the message
    assert [r["by"] for r in done["requeues"]] == ["a learner"]
    assert [d["_id"] for d in bus.dead_letters()] != [message_id]
    events = fault_events(bus.store)
    assert [(e["kind"], e["message"], e["by"]) for e in events] == [
        ("requeue", message_id, "a learner")
    ]


def test_only_a_dead_letter_can_be_requeued(bus: MessageBus) -> None:
    pending_id = bus.send("nobody.listens", {"n": 1})
    before = bus.store.get(DB, pending_id)
    with pytest.raises(InvalidMessage, match="is pending, not dead"):
        bus.requeue(pending_id)
    assert bus.store.get(DB, pending_id)["_rev"] == before["_rev"]  # nothing written
    with pytest.raises(NotFound, match="no message 'no-such-id'"):
        bus.requeue("no-such-id")
    assert fault_events(bus.store) == []
