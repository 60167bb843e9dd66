"""The trace each injected fault leaves: one document per fault in the ``fault-events`` database.

A crash, an outage or a re-queue happens in a moment; a report or a timeline
read afterwards needs to know it happened, when, and to what. Each fault of
``drwlab.faults`` writes one event (``kind``, ``timestamp``, what it concerned)
once the store can take it, and ``fault_events`` reads them back, oldest first.
The database (``wire.FAULTS_DB``) is not one of the original system's, so its
tools never see it; the views show it as the table ``fault-events``
(``views.registry``). Event ids follow drwlab's id rule (no ``:`` or ``/``):
``2026-12-07T06_30_00.123-<hex>``, sorting by time.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from drwlab.bus.message import original_doc_id
from drwlab.errors import StoreError
from drwlab.store.base import Doc, Store
from drwlab.timeutil import format_timestamp, utc_now
from drwlab.wire import FAULTS_DB as FAULTS_DB  # re-exported: drwlab.faults.FAULTS_DB

logger = logging.getLogger(__name__)

CRASH = "crash"
OUTAGE = "outage"
REQUEUE = "requeue"
ORIGINAL_CONSUMER = "original-consumer"
KINDS = (CRASH, OUTAGE, REQUEUE, ORIGINAL_CONSUMER)
"""Every ``kind`` of event written here."""


def record_fault(store: Store, kind: str, **details: Any) -> Doc | None:
    """Write an event of ``kind`` with ``details`` (JSON values); None if the store refused.

    A trace that cannot be written is logged, never raised: the fault itself
    has happened either way.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}: one of {', '.join(KINDS)}")
    moment = utc_now()
    now = format_timestamp(moment)  # the wire's milliseconds; the id adds the microseconds,
    # so that events of one millisecond (two consumers started in a row) keep their order
    event_id = f"{original_doc_id(now)}{moment.microsecond % 1000:03d}-{uuid.uuid4().hex[:8]}"
    event = {"_id": event_id, "kind": kind, "timestamp": now, **details}
    try:
        store.create_db(FAULTS_DB)
        return store.put(FAULTS_DB, event)
    except StoreError as error:
        logger.warning("could not record the %s fault event: %s", kind, error)
        return None


def fault_events(store: Store) -> list[Doc]:
    """Every fault event of ``store``, oldest first (none if no fault was ever injected)."""
    if FAULTS_DB not in store.db_names():
        return []
    return sorted(store.all_docs(FAULTS_DB), key=lambda doc: (doc["timestamp"], doc["_id"]))
