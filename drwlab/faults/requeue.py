"""Re-queue a dead letter and leave the trace of it: ``MessageBus.requeue`` plus a fault event."""

from __future__ import annotations

from drwlab.bus import MessageBus
from drwlab.faults.events import REQUEUE, record_fault
from drwlab.store.base import Doc


def requeue(bus: MessageBus, message_id: str, *, by: str | None = None) -> Doc:
    """``bus.requeue(message_id, by=by)``, then a ``requeue`` fault event naming the message.

    Raises what ``MessageBus.requeue`` raises (NotFound, InvalidMessage for a
    message that is not dead); then nothing is recorded.
    """
    doc = bus.requeue(message_id, by=by)
    record_fault(
        bus.store,
        REQUEUE,
        message=message_id,
        selector=doc.get("selector"),
        error=doc.get("error"),
        by=doc["requeues"][-1]["by"],
    )
    return doc
