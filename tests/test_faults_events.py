"""The trace of each fault: one event per fault, under an id the original's tools can reach."""

from __future__ import annotations

import pytest

from drwlab.bus.message import original_doc_id
from drwlab.faults import FAULTS_DB, fault_events, record_fault
from drwlab.store import Store


def test_event_ids_follow_drwlabs_id_rule_and_sort_by_time(store: Store) -> None:
    first = record_fault(store, "crash", actor="pipeline-driver.EU")
    second = record_fault(store, "outage", seconds=3)

    assert first is not None and second is not None
    for event in (first, second):
        assert original_doc_id(event["_id"]) == event["_id"]  # no ':' nor '/'
        assert event["_id"].startswith(original_doc_id(event["timestamp"]))
    assert store.get(FAULTS_DB, original_doc_id(first["_id"]))["kind"] == "crash"
    # in the order they happened, also several within one millisecond (a notebook
    # starting two consumers one after the other)
    later = [record_fault(store, "requeue", n=n) for n in range(8)]
    recorded = [event["_id"] for event in (first, second, *later) if event is not None]
    assert [e["_id"] for e in fault_events(store)] == recorded


def test_an_unknown_kind_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'flood'"):
        record_fault(store, "flood")
    assert fault_events(store) == []
    assert FAULTS_DB not in store.db_names()
