"""Sending: the wire format, what is refused, and oldest-first delivery."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from drwlab.bus import MAX_BODY_BYTES, MessageBus
from drwlab.errors import InvalidMessage
from drwlab.store import Store
from tests.bus.conftest import wait_until


def test_a_sent_message_reaches_its_listener(bus: MessageBus) -> None:
    received: list[Any] = []
    bus.listen("cached.JAO", received.append)
    bus.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": "w.zip"})
    wait_until(lambda: received)
    assert received == [{"fileType": "weblog", "cachedAt": "EU", "name": "w.zip"}]


def test_a_message_is_stored_in_the_original_format(bus: MessageBus, store: Store) -> None:
    msg_id = bus.send("pipeline.process.EU", {"ousUID": "uid://X1/X1/Xb2"}, sender="launcher")
    doc = store.get("msgq", msg_id)
    assert doc["selector"] == "pipeline.process.EU"
    assert doc["consumed"] is False
    assert doc["body"] == {"ousUID": "uid://X1/X1/Xb2"}
    assert doc["sender"] == "launcher"
    assert len(doc["creationTimestamp"]) == len("2018-07-19T08:50:10.228")
    assert "msgbackID" not in doc


def test_a_handled_message_is_marked_done(bus: MessageBus, store: Store) -> None:
    listener = bus.listen("ingest.JAO", lambda body: None, name="ingestor")
    msg_id = bus.send("ingest.JAO", {"ousUID": "uid://X1/X1/Xc1"})
    wait_until(lambda: store.get("msgq", msg_id).get("state") == "done")
    doc = store.get("msgq", msg_id)
    assert doc["consumed"] is True
    assert doc["attempts"] == 1
    assert doc["handledBy"].startswith("ingestor@")
    assert "handledTimestamp" in doc
    assert listener.handled == 1


def test_messages_are_handled_oldest_first(bus: MessageBus) -> None:
    for n in range(20):
        bus.send("ordered", n)
    received: list[int] = []
    bus.listen("ordered", received.append)
    wait_until(lambda: len(received) == 20)
    assert received == list(range(20))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({1, 2}, "body is a set"),
        ({"when": object()}, "body['when'] is a object"),
        (float("nan"), "body is nan"),
        ({"x": [1, float("inf")]}, "body['x'][1] is inf"),
        ({1: "int key"}, "body has a key 1"),
        (b"raw", "body is a bytes"),
    ],
    ids=["set", "object", "nan", "inf", "int-key", "bytes"],
)
def test_a_body_that_is_not_json_is_refused_naming_where_and_nothing_written(
    bus: MessageBus, store: Store, body: Any, where: str
) -> None:
    with pytest.raises(InvalidMessage, match="JSON") as refused:
        bus.send("anything", body)
    assert str(refused.value).startswith(where)
    assert store.all_docs("msgq") == []


def test_a_body_over_the_size_limit_is_refused_with_a_clear_error(
    bus: MessageBus, store: Store
) -> None:
    with pytest.raises(InvalidMessage, match="limit"):
        bus.send("big", {"data": "x" * (10 * 1024 * 1024)})
    assert store.all_docs("msgq") == []


def test_a_body_just_under_the_limit_is_delivered(bus: MessageBus) -> None:
    body = {"data": "x" * (MAX_BODY_BYTES - 100)}
    received: list[Any] = []
    bus.listen("large", received.append)
    bus.send("large", body)
    wait_until(lambda: received, timeout=30)
    assert received[0] == body


@pytest.mark.parametrize(
    "selector",
    ["", "has space", "star*", "*", ".*", "a/b", "ü", None, 42, "x" * 201],
)
def test_a_malformed_selector_is_refused(bus: MessageBus, store: Store, selector: Any) -> None:
    with pytest.raises(InvalidMessage, match="selector"):
        bus.send(selector, {"ok": True})
    assert store.all_docs("msgq") == []


def test_listening_on_a_group_is_refused(bus: MessageBus) -> None:
    with pytest.raises(InvalidMessage, match="group"):
        bus.listen("state.change.*", print)


def test_send_is_safe_from_many_threads(bus: MessageBus, store: Store) -> None:
    def sender(offset: int) -> None:
        for n in range(25):
            bus.send("crowd", offset + n)

    threads = [threading.Thread(target=sender, args=(k * 100,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bus.unread("crowd")) == 100
