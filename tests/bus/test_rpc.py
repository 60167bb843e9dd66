"""RPC: a call gets the service's result, or its error, or a timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from drwlab.bus import MessageBus, watcher
from drwlab.bus.listener import ListenerCrashed
from drwlab.errors import IllegalTransition, InvalidMessage, RpcError, RpcTimeout
from drwlab.store import BulkResult, Store, open_store
from tests.actors.original import OriginalQueue, StoreDatabase
from tests.bus.conftest import bus_threads, wait_until


def xtss(request: dict[str, Any]) -> Any:
    if request["operation"] == "set-state" and request["value"] == "Delivered":
        raise IllegalTransition("ReadyForProcessing -> Delivered is not allowed")
    if request["operation"] == "crash":
        raise ZeroDivisionError("division by zero")
    if request["operation"] == "odd":
        return {1, 2, 3}
    return {"ousUID": request["ousUID"], "state": request["value"]}


def test_a_call_returns_the_service_result(bus: MessageBus, store: Store) -> None:
    bus.serve("xtss", xtss)
    request = {"operation": "set-state", "ousUID": "uid://X1/X1/Xb2", "value": "Processing"}
    reply = bus.call("xtss", request, timeout=10)
    assert reply == {"ousUID": "uid://X1/X1/Xb2", "state": "Processing"}
    requests = store.find("msgq", {"selector": "xtss"})
    assert requests[0]["msgbackID"].startswith("msgback.")
    # the service acknowledges its request once it has returned, which may be a moment
    # after the caller has the reply (a loaded machine showed it)
    wait_until(lambda: store.find("msgq", {"selector": "xtss"})[0]["state"] == "done")
    assert store.count("msgq", {"consumed": False}) == 0  # the reply was taken too


def test_a_call_without_a_server_times_out_and_is_withdrawn(bus: MessageBus, store: Store) -> None:
    began = time.monotonic()
    with pytest.raises(RpcTimeout, match=r"'nobody'.*0\.3 s"):
        bus.call("nobody", {"operation": "ping"}, timeout=0.3)
    assert 0.3 <= time.monotonic() - began < 2
    (request,) = store.find("msgq", {"selector": "nobody"})
    assert request["state"] == "dead"
    assert request["error"].startswith("RpcTimeout: ")


def test_a_remote_drwlab_error_is_raised_by_its_type(bus: MessageBus) -> None:
    bus.serve("xtss", xtss)
    request = {"operation": "set-state", "ousUID": "uid://X1/X1/Xb2", "value": "Delivered"}
    with pytest.raises(IllegalTransition, match="Delivered is not allowed"):
        bus.call("xtss", request)


def test_a_service_error_does_not_kill_the_server(bus: MessageBus, store: Store) -> None:
    server = bus.serve("xtss", xtss)
    with pytest.raises(RpcError, match="ZeroDivisionError: division by zero"):
        bus.call("xtss", {"operation": "crash"})
    with pytest.raises(InvalidMessage, match=r"reply.*not JSON"):
        bus.call("xtss", {"operation": "odd"})
    assert bus.call("xtss", {"operation": "x", "ousUID": "u", "value": "v"}) == {
        "ousUID": "u",
        "state": "v",
    }
    assert server.is_alive
    assert store.count("msgq", {"selector": "xtss", "state": "done"}) == 3


def test_a_request_without_msgback_id_is_dead_lettered(bus: MessageBus, store: Store) -> None:
    bus.serve("xtss", xtss)
    msg_id = bus.send("xtss", {"operation": "set-state"})
    wait_until(lambda: store.get("msgq", msg_id)["state"] == "dead")
    doc = store.get("msgq", msg_id)
    assert doc["error"].startswith("InvalidMessage: ")
    assert "msgbackID" in doc["error"]


def test_concurrent_calls_get_their_own_replies(bus: MessageBus) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bus.serve("echo", lambda request: request)
    bus.serve("echo", lambda request: request)
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda n: bus.call("echo", n, timeout=20), range(20)))
    assert replies == list(range(20))


def test_a_reply_is_written_in_one_write_with_its_requests_acknowledgement(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[list[tuple[str, Any, Any]]] = []
    bulk_put = store.bulk_put

    def noting_bulk_put(db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        writes.append([(doc["selector"], doc.get("state"), doc.get("body")) for doc in docs])
        return bulk_put(db, docs)

    monkeypatch.setattr(store, "bulk_put", noting_bulk_put)
    bus.serve("echo", lambda request: request)
    reply = bus.request("echo", {"n": 1})
    assert reply["body"] == {"n": 1}
    (write,) = [w for w in writes if any(body == {"n": 1} for _, _, body in w)]
    assert sorted(write, key=str) == [
        ("echo", "done", {"n": 1}),  # the request, acknowledged
        (reply["selector"], "done", {"n": 1}),  # its reply, taken in the caller's name
    ]


def test_drwlab_s_caller_writes_nothing_to_take_its_reply(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request names its caller (``replyTakenBy``); the server writes the reply taken
    in that name, and the caller, which reads it from the change feed, makes no write."""
    bus.serve("echo", lambda request: request)
    caller_writes: list[str] = []
    put = store.put

    def noting_put(db: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        if threading.current_thread() is threading.main_thread():
            caller_writes.append(str(doc.get("selector")))
        return put(db, doc)

    monkeypatch.setattr(store, "put", noting_put)
    reply = bus.request("echo", {"n": 2})
    assert caller_writes == ["echo"]  # the request, and nothing for the reply
    (request,) = store.find("msgq", {"selector": "echo"})
    assert request["replyTakenBy"].startswith("rpc-call@")
    stored = store.get("msgq", reply["_id"])
    assert stored["consumed"] is True and stored["state"] == "done"
    assert stored["handledBy"] == request["replyTakenBy"]
    assert stored["_rev"] == reply["_rev"] and stored["_rev"].startswith("1-")  # one write


def test_a_pending_reply_from_the_original_s_executor_is_taken_by_drwlab_s_caller(
    bus: MessageBus, store: Store
) -> None:
    """The original's Executor ignores ``replyTakenBy``: it consumes the request its way
    and sends a pending reply, which drwlab's caller then marks consumed itself."""

    def original_executor() -> None:
        queue = OriginalQueue(StoreDatabase(store))
        message = queue.get_next("^echo$", timeout=20)
        assert message is not None
        queue.send({"echoed": message["body"]}, message["msgbackID"])

    executor = threading.Thread(target=original_executor)
    executor.start()
    try:
        assert bus.call("echo", {"n": 3}, timeout=20) == {"echoed": {"n": 3}}
    finally:
        executor.join(30)
    (reply,) = [doc for doc in store.all_docs("msgq") if doc["selector"].startswith("msgback.")]
    assert reply["consumed"] is True and reply["state"] == "done"
    assert reply["handledBy"].startswith("rpc-call@") and reply["_rev"].startswith("2-")


def test_a_server_killed_before_writing_its_reply_leaves_the_request_to_another_server(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the service's return and the write: neither reply nor acknowledgement
    is written, the lease runs out, another server answers, and the caller gets one reply."""
    bus = MessageBus(store, lease=1.0, max_attempts=3, retry_delay=0.05)
    served: list[str] = []
    bulk_put = store.bulk_put
    dying = bus.serve("echo", lambda request: served.append("first") or request, name="first-1")

    def dying_bulk_put(db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        if threading.current_thread().name == "drwlab-listener-first-1":
            dying.crash()
            raise ListenerCrashed  # the process dies here: nothing reaches the store
        return bulk_put(db, docs)

    monkeypatch.setattr(store, "bulk_put", dying_bulk_put)
    try:
        reply = {}
        caller = threading.Thread(target=lambda: reply.update(bus.request("echo", 7, timeout=30)))
        caller.start()
        wait_until(lambda: served == ["first"] and not dying.is_alive)
        (request,) = store.find("msgq", {"selector": "echo"})
        assert request["state"] == "claimed"  # not acknowledged
        assert store.count("msgq", {"selector": request["msgbackID"]}) == 0  # no reply
        bus.serve("echo", lambda request: served.append("second") or request, name="second-1")
        caller.join(30)
        assert reply["body"] == 7
        assert served == ["first", "second"]
        assert store.count("msgq", {"selector": request["msgbackID"]}) == 1
        request = store.get("msgq", request["_id"])
        assert request["state"] == "done" and request["handledBy"].startswith("second-1@")
        assert request["errorHistory"][-1]["type"] == "LeaseExpired"
    finally:
        bus.close()


# -- a process whose only bus traffic is its calls (the data tracker, a launcher) -----


def test_calls_without_a_listener_share_one_watcher_and_one_feed(
    bus: MessageBus, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each call used to start the caller's watcher again, and end it: on CouchDB a
    question for the feed's position, a new feed and a look more per call."""
    bus.serve("echo", lambda request: request)
    with open_store(store_url) as caller_store:
        feeds: list[str] = []
        follow = caller_store.follow_changes

        def counted(db: str, since: Any, **kwargs: Any) -> Any:
            feeds.append(db)
            return follow(db, since, **kwargs)

        monkeypatch.setattr(caller_store, "follow_changes", counted)
        caller = MessageBus(caller_store)
        try:
            assert [caller.call("echo", n) for n in range(5)] == [0, 1, 2, 3, 4]
            assert feeds == ["msgq"]
            assert "drwlab-bus-watcher" in bus_threads()  # the caller's, until...
        finally:
            caller.close()  # ...its bus closes
    bus.close()
    assert bus_threads() == []


def test_a_callers_watcher_ends_by_itself_a_while_after_the_last_call(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher, "CALLER_LINGER", 0.5)
    server = MessageBus(store)
    server.serve("echo", lambda request: request)
    caller = MessageBus(store)
    try:
        assert caller.call("echo", "one") == "one"
        server.close()
        assert bus_threads() == ["drwlab-bus-watcher"]  # the caller's, lingering
        wait_until(lambda: bus_threads() == [], timeout=5.0)
    finally:
        caller.close()
        server.close()
