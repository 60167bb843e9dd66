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


def test_several_messages_sent_in_one_write_reach_their_listeners_in_order(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus.join_group("cached.*", "cached.JAO")
    bus.join_group("cached.*", "cached.EU")
    received: dict[str, list[Any]] = {"cached.JAO": [], "cached.EU": [], "pipeline.report.JAO": []}
    for selector, bodies in received.items():
        bus.listen(selector, bodies.append)
    writes: list[int] = []  # the sender's own (the listeners write their claims meanwhile)
    bulk_put, put = store.bulk_put, store.put

    def noted(count: int) -> None:
        if threading.current_thread() is threading.main_thread():
            writes.append(count)

    monkeypatch.setattr(store, "bulk_put", lambda db, d: noted(len(d)) or bulk_put(db, d))
    monkeypatch.setattr(store, "put", lambda db, doc: noted(1) or put(db, doc))
    ids = bus.send_many(
        [("cached.JAO", 1), ("cached.JAO", 2), ("cached.*", 3), ("pipeline.report.JAO", 4)],
        sender="pipeline-driver.EU",
    )
    assert writes == [5]  # the group's message went to both members: one write of five
    assert ids == sorted(ids) and len(ids) == 4  # oldest first, as sent
    wait_until(lambda: sum(map(len, received.values())) == 5)
    assert received == {"cached.JAO": [1, 2, 3], "cached.EU": [3], "pipeline.report.JAO": [4]}
    assert {store.get("msgq", i)["sender"] for i in ids} == {"pipeline-driver.EU"}


@pytest.mark.parametrize("bad", [("no spaces allowed", 1), ("cached.JAO", {1, 2}), ("empty.*", 1)])
def test_one_bad_message_among_several_is_refused_and_nothing_is_written(
    bus: MessageBus, store: Store, bad: tuple[str, Any]
) -> None:
    with pytest.raises(InvalidMessage):
        bus.send_many([("cached.JAO", 1), bad, ("cached.EU", 2)])
    assert store.all_docs("msgq") == []
