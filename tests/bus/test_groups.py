"""Groups: a send to ``name.*`` reaches one copy per member selector."""

from __future__ import annotations

from typing import Any

import pytest

from drwlab.bus import MessageBus
from drwlab.errors import InvalidMessage
from drwlab.store import Store
from tests.bus.conftest import wait_until


def test_a_group_send_reaches_every_member(bus: MessageBus, store: Store) -> None:
    bus.join_group("state.change.*", "dashboard.refresh")
    bus.join_group("state.change.*", "tracker.refresh")
    dashboard: list[Any] = []
    tracker: list[Any] = []
    bus.listen("dashboard.refresh", dashboard.append)
    bus.listen("tracker.refresh", tracker.append)
    first_id = bus.send("state.change.*", {"ousUID": "uid://X1/X1/Xb2", "state": "Processing"})
    wait_until(lambda: dashboard and tracker)
    assert dashboard == tracker == [{"ousUID": "uid://X1/X1/Xb2", "state": "Processing"}]
    first = store.get("msgq", first_id)
    assert first["selector"] == "dashboard.refresh"
    assert first["group"] == "state.change.*"


def test_joining_a_group_twice_adds_the_member_once(bus: MessageBus, store: Store) -> None:
    bus.join_group("state.change.*", "dashboard.refresh")
    bus.join_group("state.change.*", "dashboard.refresh")
    assert bus.members("state.change.*") == ["dashboard.refresh"]
    doc = store.get("msgq", "state.change.*")  # the original looks a group up by its name
    assert doc["type"] == "group"
    assert doc["members"] == ["dashboard.refresh"]


def test_a_send_to_a_group_without_members_is_refused(bus: MessageBus, store: Store) -> None:
    with pytest.raises(InvalidMessage, match="no members"):
        bus.send("nobody.*", {"x": 1})
    assert store.all_docs("msgq") == []


def test_group_names_end_in_dot_star(bus: MessageBus) -> None:
    with pytest.raises(InvalidMessage, match=r"\.\*"):
        bus.join_group("state.change", "dashboard.refresh")
    with pytest.raises(InvalidMessage):
        bus.join_group("state.change.*", "other.*")


def test_group_documents_are_not_taken_for_messages(bus: MessageBus) -> None:
    bus.join_group("state.change.*", "dashboard.refresh")
    assert bus.unread() == []
    assert bus.dead_letters() == []
