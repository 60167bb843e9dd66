"""The public base of every actor: a name, start/stop, listeners and loops, one stop Event.

An actor is a small class over a bus and a store. ``start()`` calls
``on_start``, which opens the actor's listeners (``self.listen``,
``self.serve``) and loops (``self.loop``); ``stop()`` sets the stop Event
(``self.stopping``), stops the listeners, joins the loops and calls
``on_stop``, so a stopped actor leaves no thread behind. The stock actors
(``drwlab.actors``) and your own are built the same way; ``Sandbox.add_actor``
runs yours beside the stock ones and ``drwlab run --actor module:Class`` runs
it as its own process. ``docs/actors.md`` is the guide, and states the three
rules every actor keeps: idempotent handlers, no bare sleeps, unknown fields
refused.

The helpers below check message bodies: ``body_dict`` (a JSON object with only
the fields named), ``only_fields``, ``text_field``, and ``is_redelivery``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from types import TracebackType
from typing import Any, TypeVar

from drwlab.bus import Listener, MessageBus
from drwlab.errors import DrwlabError, InvalidMessage, StoreError
from drwlab.outage import StoreOutage
from drwlab.store.base import Store

logger = logging.getLogger(__name__)

A = TypeVar("A", bound="Actor")

STORE_CHECK = 0.25
"""How often a loop waiting out a store outage looks whether the bus saw it end."""
LOOP_ERROR_PAUSE = 1.0
"""Pause after an unexpected error in a loop before it carries on."""


class Actor:
    """Base of every actor: subclass it, open listeners and loops in ``on_start``.

    Parameters
    ----------
    bus, store:
        Where messages and documents live (in a sandbox: ``sandbox.bus``,
        ``sandbox.store``).
    name:
        The actor's name: thread names, listener names (the bus records
        ``handledBy`` as ``<name>-<n>@host:pid``), the ``actor`` of the state
        changes it asks the XTSS for. Default: the class name in kebab case
        (``ShortestQueue`` -> ``shortest-queue``).

    What a subclass uses
    --------------------
    ``on_start()`` / ``on_stop()``
        Override: open listeners and loops / release anything else taken.
    ``self.listen(selector, handler, full_message=False)``
        ``handler(body)`` (or the whole message document) for each message on
        ``selector``; one message goes to one listener. A handler that raises
        has its message retried, then dead-lettered (at once for InvalidMessage).
    ``self.serve(selector, service)``
        Answer RPC requests (``bus.call``) with ``service(request)``.
    ``self.loop(step)``
        ``step()`` again and again in a thread until the actor stops; ``step``
        waits on ``self.stopping`` (an Event), never on ``time.sleep``.
    ``XtssClient(self.bus, sender=self.name)``
        Every state change goes through the XTSS (``drwlab.actors.XtssClient``).

    Every handler is idempotent, no loop sleeps bare, unknown fields are
    refused: the rules of ``docs/actors.md``.

    Example::

        from drwlab.actors import Actor, body_dict, text_field
        from drwlab.errors import Conflict

        class Notes(Actor):  # keeps each note sent on notes.JAO ({"ousUID", "text"}) once

            def on_start(self) -> None:
                self.store.create_db("notes")
                self.listen("notes.JAO", self.handle, full_message=True)
                self.loop(self.count)

            def handle(self, message: dict) -> None:
                body = body_dict(message["body"], "note", ("ousUID", "text"))
                note = {"_id": message["_id"], "ousUID": text_field(body, "ousUID", "note"),
                        "text": text_field(body, "text", "note")}
                try:
                    self.store.put("notes", note)
                except Conflict:  # delivered again: the note is there already
                    logger.info("%s: note %s kept already (duplicate)", self.name, note["_id"])

            def count(self) -> None:
                if not self.stopping.wait(60):  # stop() ends the wait at once
                    logger.info("%s: %d notes", self.name, self.store.count("notes", {}))

        sandbox.add_actor(Notes(sandbox.bus, sandbox.store))
    """

    def __init__(self, bus: MessageBus, store: Store, *, name: str | None = None) -> None:
        self.bus = bus
        self.store = store
        self.name = name or default_name(type(self))
        self.stopping = threading.Event()
        self._listeners: list[Listener] = []
        self._threads: list[threading.Thread] = []
        self._started = False

    def __repr__(self) -> str:
        state = "alive" if self.is_alive else "stopped"
        return f"{type(self).__name__}({self.name!r}, {state})"

    # -- lifetime -------------------------------------------------------------------
    def start(self: A) -> A:
        """Open the actor's listeners and loops; a started actor is returned (idempotent)."""
        if self._started:
            return self
        self.stopping.clear()
        self._started = True
        try:
            self.on_start()
        except BaseException:
            self.stop()
            raise
        logger.info("%s started", self.name)
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop taking work and wait up to ``timeout`` s for every thread to end."""
        deadline = time.monotonic() + timeout
        self.stopping.set()
        listeners, self._listeners = self._listeners, []
        threads, self._threads = self._threads, []
        for listener in listeners:
            listener.signal_stop()
        for listener in listeners:
            listener.stop(max(0.0, deadline - time.monotonic()))
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        try:
            self.on_stop()
        finally:
            if self._started:
                logger.info("%s stopped", self.name)
            self._started = False

    @property
    def is_alive(self) -> bool:
        """True while every listener and loop of a started actor runs."""
        return (
            self._started
            and all(listener.is_alive for listener in self._listeners)
            and all(thread.is_alive() for thread in self._threads)
        )

    def on_start(self) -> None:
        """Open listeners and loops (subclasses)."""

    def on_stop(self) -> None:
        """Release what ``on_start`` took beyond listeners and loops (subclasses)."""

    # -- helpers for subclasses -----------------------------------------------------------
    def listen(
        self, selector: str, handler: Callable[[Any], object], *, full_message: bool = False
    ) -> Listener:
        """Listen on ``selector`` with ``handler``; the listener is stopped with the actor.

        ``full_message``: the handler gets the message document, not its body.
        """
        number = len(self._listeners) + 1
        listener = self.bus.listen(
            selector, handler, name=f"{self.name}-{number}", full_message=full_message
        )
        self._listeners.append(listener)
        return listener

    def serve(self, selector: str, service: Callable[[Any], Any]) -> Listener:
        """Answer RPC requests on ``selector``; the server is stopped with the actor."""
        number = len(self._listeners) + 1
        listener = self.bus.serve(selector, service, name=f"{self.name}-{number}")
        self._listeners.append(listener)
        return listener

    def loop(self, step: Callable[[], None], *, name: str | None = None) -> threading.Thread:
        """Run ``step()`` over and over in a daemon thread until the actor stops.

        ``step`` does its own waiting (on ``self.stopping`` or on a change feed,
        briefly); a DrwlabError or unexpected error is logged and the loop
        carries on after a short pause.
        """

        def run() -> None:
            outage = StoreOutage(logger, f"actor {name or self.name}")
            while not self.stopping.is_set():
                try:
                    step()
                    outage.recovered()
                except StoreError as error:
                    self._await_store(outage.failed(error))
                except DrwlabError as error:
                    logger.warning("%s: %s: %s", self.name, type(error).__name__, error)
                    self.stopping.wait(LOOP_ERROR_PAUSE)
                except Exception:
                    logger.exception("%s: unexpected error in its loop; carrying on", self.name)
                    self.stopping.wait(LOOP_ERROR_PAUSE)

        thread = threading.Thread(target=run, name=f"drwlab-actor-{name or self.name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _await_store(self, pause: float) -> None:
        """Wait ``pause`` s, and on while the bus finds the store down (or until stopped).

        While the bus's watcher probes the store, a loop need not probe it too.
        """
        deadline = time.monotonic() + pause
        while not self.stopping.wait(STORE_CHECK):
            if time.monotonic() >= deadline and not self.bus.store_down:
                return

    # -- context manager ------------------------------------------------------------
    def __enter__(self: A) -> A:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def default_name(cls: type) -> str:
    """``ShortestQueue`` -> ``shortest-queue``: an actor's name when none is given."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", cls.__name__).lower()


# -- message bodies ------------------------------------------------------------------
def is_redelivery(message: Mapping[str, Any]) -> bool:
    """True if claimed ``message`` was delivered before (its handler may have done the work):
    an attempt after the first, or any attempt of a dead letter re-queued (``requeues``; its
    attempts start again at 1, but its earlier handlers may have got halfway)."""
    attempts = message.get("attempts")
    requeues = message.get("requeues")
    return (isinstance(attempts, int) and attempts > 1) or (
        isinstance(requeues, list) and bool(requeues)
    )


def body_dict(body: object, what: str, fields: Collection[str] | None = None) -> dict[str, Any]:
    """``body`` if it is a JSON object with no field outside ``fields``, else InvalidMessage.

    A string holding a JSON object is read as that object: the original's
    scripts send their bodies so (``'{"progID": "...", ...}'``). Unknown fields
    are refused, not ignored: a misspelt ``reason`` or an ``priority`` the actor
    does not implement would otherwise pass unnoticed.
    """
    parsed = _json_object_or_none(body) if isinstance(body, str) else None
    if parsed is not None:
        body = parsed
    if not isinstance(body, dict):
        raise InvalidMessage(f"{what}: the body must be a JSON object, not {body!r:.100}")
    if fields is not None:
        only_fields(body, fields, what)
    return body


def _json_object_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def only_fields(body: dict[str, Any], fields: Collection[str], what: str) -> None:
    """InvalidMessage naming the fields of ``body`` that are not in ``fields``."""
    unknown = sorted(str(name) for name in body if name not in fields)
    if unknown:
        raise InvalidMessage(
            f"{what}: unknown field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(name) for name in unknown)} (expected only "
            f"{', '.join(sorted(fields))})"
        )


def text_field(body: dict[str, Any], name: str, what: str) -> str:
    """The non-empty string field ``name`` of ``body``, else InvalidMessage."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        if name not in body:
            raise InvalidMessage(f"{what}: field {name!r} is missing")
        raise InvalidMessage(
            f"{what}: field {name!r} must be a non-empty string, not {value!r:.80}"
        )
    return value
