"""Crash an actor mid-message: its listeners die as if its process had been killed.

An actor's listeners are named ``<actor name>-<n>`` (``Actor.listen``), so the
listeners of the actor named ``pipeline-driver.EU`` on a bus are found by
name. Each is crashed (``Listener.crash``): no acknowledgement, no give-back,
no clean-up, its claims no longer renewed. The messages it held wait out
their lease, then a competing listener (another driver, here or in another
process) takes them. Give the bus a short ``lease`` to wait seconds, not 30.
"""

from __future__ import annotations

from dataclasses import dataclass

from drwlab.bus import Listener, MessageBus
from drwlab.faults.events import CRASH, record_fault


@dataclass(frozen=True)
class Crash:
    """What one crash did: the listeners it killed and the messages they held."""

    actor: str
    listeners: tuple[str, ...]
    held: tuple[str, ...]
    """Ids of the messages claimed at the moment of the crash (they wait out their lease)."""
    lease: float
    """Seconds after which another listener may take them."""


def listeners_of(bus: MessageBus, actor: str) -> list[Listener]:
    """The running listeners of ``bus`` that belong to the actor named ``actor``."""
    return [
        listener
        for listener in bus.listeners
        if listener.name == actor or listener.name.startswith(f"{actor}-")
    ]


def crash_actor(bus: MessageBus, actor: str) -> Crash:
    """Crash every listener of the actor named ``actor`` on ``bus`` (see the module docstring).

    Records a ``crash`` fault event. Raises ValueError if no running listener
    of ``bus`` belongs to ``actor`` (the names that do are listed).
    """
    victims = listeners_of(bus, actor)
    if not victims:
        running = sorted({listener.name.rsplit("-", 1)[0] for listener in bus.listeners})
        raise ValueError(
            f"no running listener of an actor named {actor!r} on this bus "
            f"(running: {', '.join(running) or 'none'})"
        )
    held = [doc_id for listener in victims for doc_id in listener.crash()]
    crash = Crash(
        actor=actor,
        listeners=tuple(listener.name for listener in victims),
        held=tuple(held),
        lease=bus.lease,
    )
    record_fault(
        bus.store, CRASH, actor=actor, listeners=list(crash.listeners), held=held, lease=bus.lease
    )
    return crash
