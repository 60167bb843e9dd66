"""Fault injection: break a running drwlab on purpose and watch it heal (teaching, tests).

Nothing here is active unless called. Four faults, each leaving a trace in the
``fault-events`` database (``fault_events``):

- ``crash_actor(bus, name)``: an actor's listeners die as if its process were
  killed; what they held waits out the bus's ``lease`` and another listener takes it.
- ``OriginalWayListener(..., unsafe=True)``: consume as the original system did
  (no claim by revision) to see messages handled twice; ``handled_twice`` counts.
- ``MessageBus.requeue(id)`` (with ``requeue``, which also records the event):
  a dead letter back in its queue once its cause is fixed.
- ``UnreachableStore(store).outage(seconds)``: the store answers nothing for a
  while; ``OutageLog`` counts the loops' warnings and retries.

See ``docs/faults.md``.
"""

from drwlab.bus.listener import ListenerCrashed
from drwlab.faults.crash import Crash, crash_actor, listeners_of
from drwlab.faults.events import FAULTS_DB, fault_events, record_fault
from drwlab.faults.original import OriginalWayListener, handled_twice
from drwlab.faults.outage_log import OutageLog
from drwlab.faults.requeue import requeue
from drwlab.faults.unreachable import UnreachableStore

__all__ = [
    "FAULTS_DB",
    "Crash",
    "ListenerCrashed",
    "OriginalWayListener",
    "OutageLog",
    "UnreachableStore",
    "crash_actor",
    "fault_events",
    "handled_twice",
    "listeners_of",
    "record_fault",
    "requeue",
]
