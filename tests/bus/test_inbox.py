"""New work reaches a listener through the change feed, without a query per message."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from drwlab.bus import MessageBus
from drwlab.bus.inbox import MAX_ENTRIES, Inbox
from drwlab.store import BulkResult, Doc, Store
from tests.bus.conftest import count_queries, hide_documents_from_the_feed, wait_until


def _message(doc_id: str, rev: str = "1-a") -> Doc:
    return {"_id": doc_id, "_rev": rev, "selector": "s", "consumed": False}


def test_an_inbox_gives_what_was_offered_once() -> None:
    inbox = Inbox(complete=True)
    inbox.offer(_message("m1"))
    inbox.offer(_message("m2"))
    inbox.offer(_message("m1", "3-c"))  # a later revision replaces the earlier one
    inbox.drop(_message("m2", "2-b"))  # claimed meanwhile
    assert inbox.take() == [_message("m1", "3-c")]
    assert inbox.take() == []


def test_an_inbox_turns_away_a_copy_older_than_one_seen_taken() -> None:
    inbox = Inbox(complete=True)
    inbox.drop(_message("m1", "2-b"))  # claimed, before its sender's hand-over came
    inbox.offer(_message("m1", "1-a"))  # the hand-over, late
    assert inbox.take() == []
    inbox.offer(_message("m1", "3-c"))  # given back (a lease ran out): work again
    assert inbox.take() == [_message("m1", "3-c")]


def test_an_inbox_that_may_have_missed_something_says_so_once() -> None:
    starting = Inbox(complete=False)
    starting.offer(_message("m1"))
    assert starting.take() is None  # must query: messages may predate it
    starting.offer(_message("m2"))
    assert starting.take() == [_message("m2")]  # from then on it saw everything
    starting.lose()
    assert starting.take() is None


def test_an_overflowing_inbox_gives_up_rather_than_grow() -> None:
    inbox = Inbox(complete=True)
    for n in range(MAX_ENTRIES + 1):
        inbox.offer(_message(f"m{n}"))
    assert inbox.take() is None


def test_a_listener_takes_new_messages_from_the_feed_without_querying(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_for = count_queries(store, monkeypatch)
    handled: list[int] = []
    bus.listen("fed", handled.append)
    wait_until(lambda: looked_for["fed"] >= 1)  # the one look at what was queued before
    looked_for.clear()
    for n in range(20):
        bus.send("fed", n)
        wait_until(lambda n=n: n in handled)
    assert handled == list(range(20))
    # none per message; the watcher's start, if it came after the listener's first
    # look, costs one more (what landed between the two must not be missed)
    assert looked_for["fed"] <= 1


def test_rpc_replies_come_from_the_feed_without_querying(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus.serve("double", lambda n: 2 * n)
    assert bus.call("double", 1, timeout=10) == 2  # the server's first look done
    looked_for = count_queries(store, monkeypatch)
    assert [bus.call("double", n, timeout=10) for n in range(5)] == [0, 2, 4, 6, 8]
    assert sum(looked_for.values()) <= 1  # none per call (one more at the watcher's start)


def test_messages_that_arrive_while_the_handler_runs_are_handled_oldest_first(
    bus: MessageBus,
) -> None:
    release = threading.Event()
    received: list[int] = []

    def handler(n: int) -> None:
        if n == 0:
            release.wait(10)
        received.append(n)

    listener = bus.listen("ordered-live", handler)
    wait_until(lambda: listener.is_alive)
    bus.send("ordered-live", 0)
    for n in range(1, 25):  # all land while message 0 is being handled
        bus.send("ordered-live", n)
    release.set()
    wait_until(lambda: len(received) == 25)
    assert received == list(range(25))


def test_a_feed_without_documents_still_delivers_everything_by_querying(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change the watcher cannot read makes the listener query: nothing is missed."""
    hide_documents_from_the_feed(store, monkeypatch)
    looked_for = count_queries(store, monkeypatch)
    handled: list[int] = []
    bus.listen("blind", handled.append)
    wait_until(lambda: looked_for["blind"] >= 1)
    looked_for.clear()
    with MessageBus(store) as sender:  # as another process: only the feed tells our listener
        for n in range(5):
            sender.send("blind", n)
            wait_until(lambda n=n: n in handled)
    assert handled == list(range(5))
    assert looked_for["blind"] >= 5  # one look per wake-up, as before the feed carried docs


def test_a_message_whose_wake_up_was_lost_is_still_handled(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wake-up can be cleared by the listener's own rearm just after the watcher set
    it (a timer ran out at that moment); what the watcher noted must not wait for
    another message to come along. Here every wake-up is lost: the listener's
    lease timer (every lease / 4 s) must find the message in its Inbox."""
    looked_for = count_queries(store, monkeypatch)
    handled: list[str] = []
    listener = bus.listen("unrung", handled.append)
    wait_until(lambda: looked_for["unrung"] >= 1)  # its first look is done: all is quiet
    monkeypatch.setattr(listener._wake, "set", lambda: None)
    sent = time.monotonic()
    bus.send("unrung", "still delivered")
    wait_until(lambda: handled == ["still delivered"], timeout=3 * bus.lease)
    assert time.monotonic() - sent < bus.lease  # at the next timer, not never
    monkeypatch.undo()  # let stop() wake it again


def test_a_message_sent_in_this_process_reaches_its_listener_without_the_feed(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender hands the message to its process's listener; the feed's copy is not
    routed again, so the listener neither queries nor tries a second claim."""
    _wait_until_the_watcher_follows(bus, store)
    handled: list[int] = []
    bus.listen("local", handled.append)
    bus.send("local", -1)
    wait_until(lambda: -1 in handled)  # its first look is over
    looked_for = count_queries(store, monkeypatch)
    claims_tried = _note_claims(store, monkeypatch)
    for n in range(5):
        bus.send("local", n)
        wait_until(lambda n=n: n in handled)
    assert handled == [-1, *range(5)]
    assert looked_for["local"] == 0
    assert len(claims_tried) == 5  # one claim each: none lost on a second copy


def test_a_hand_over_later_than_the_listener_s_own_look_is_not_claimed_again(
    bus: MessageBus, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener's own look can find a message and claim it before the sender's
    hand-over lands (the sender paused between its write and the hand-over): that late
    copy is older than the claim and must not cost a second claim, nor a delivery."""
    landed = bus._watcher.landed
    find = store.find

    def late_landed(docs: Any) -> None:
        docs = list(docs)
        time.sleep(0.3)  # the sender paused between its write and its hand-over
        landed(docs)

    def slow_find(db: str, selector: Mapping[str, Any], **options: Any) -> list[Doc]:
        time.sleep(0.1)  # the first look starts before the send and reads after it
        return find(db, selector, **options)

    monkeypatch.setattr(bus._watcher, "landed", late_landed)
    monkeypatch.setattr(store, "find", slow_find)
    handled: list[int] = []
    bus.listen("late", handled.append)
    bus.send("late", -1)
    wait_until(lambda: -1 in handled)
    monkeypatch.setattr(bus._watcher, "landed", landed)
    claims_tried = _note_claims(store, monkeypatch)
    bus.send("late", 0)  # claimed alone, not beside a stale copy of -1
    wait_until(lambda: 0 in handled)
    assert handled == [-1, 0]
    assert len(claims_tried) == 1


def _note_claims(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the claims written on ``store`` from now on, one by one or in bulk."""
    put, bulk_put = store.put, store.bulk_put
    claims_tried: list[str] = []

    def noting_put(db: str, doc: Mapping[str, Any]) -> Doc:
        if doc.get("state") == "claimed":
            claims_tried.append(doc["_id"])
        return put(db, doc)

    def noting_bulk_put(db: str, docs: Sequence[Mapping[str, Any]]) -> list[BulkResult]:
        claims_tried.extend(doc["_id"] for doc in docs if doc.get("state") == "claimed")
        return bulk_put(db, docs)

    monkeypatch.setattr(store, "put", noting_put)
    monkeypatch.setattr(store, "bulk_put", noting_bulk_put)
    return claims_tried


def _wait_until_the_watcher_follows(bus: MessageBus, store: Store) -> None:
    """Return once ``bus``'s change watcher follows the feed, its start behind it: when it
    starts it cannot know what came before, so it has every listener look again, which a
    test counting looks must not take for one of its own."""
    knows_seq = threading.Event()
    current_seq = store.current_seq

    def noting_seq(db: str) -> Any:
        seq = current_seq(db)
        knows_seq.set()
        return seq

    with pytest.MonkeyPatch.context() as patch:  # undone at the end, and only these
        patch.setattr(store, "current_seq", noting_seq)
        looked_for = count_queries(store, patch)
        arrived: list[str] = []
        bus.listen("warm-up", arrived.append)
        wait_until(lambda: knows_seq.is_set() and looked_for["warm-up"] >= 1)
        with MessageBus(store) as other:  # not handed over in this process: a look or the
            other.send("warm-up", "after")  # feed finds it, each after the watcher's start
            wait_until(lambda: arrived == ["after"])
