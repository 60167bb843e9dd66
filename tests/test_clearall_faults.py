"""A reset empties drwlab's own record of faults too, and makes none where there was none."""

from __future__ import annotations

from drwlab.clearall import clear_all
from drwlab.faults import fault_events
from drwlab.faults.events import OUTAGE, record_fault
from drwlab.store import Store
from drwlab.wire import FAULTS_DB


def test_clear_all_forgets_the_faults_of_before(store: Store) -> None:
    store.ensure_databases()
    record_fault(store, OUTAGE, seconds=3.0)
    assert len(fault_events(store)) == 1
    clear_all(store)
    assert fault_events(store) == []


def test_clear_all_makes_no_fault_database_where_no_fault_was_injected(store: Store) -> None:
    store.ensure_databases()
    clear_all(store)
    assert FAULTS_DB not in store.db_names()
