"""What every actor shares: a name, start/stop, its listeners and loops, one stop Event.

An actor is a small class over a bus and a store. ``start()`` opens its
listeners (``self.listen``/``self.serve``) and loops (``self.loop``);
``stop()`` sets the stop Event, stops the listeners and joins the loops, so a
stopped actor leaves no thread behind. Each actor's ``handle(body)`` does the
one thing the actor is for; loops wait on ``self.stopping`` (never a bare
sleep) so they end at once.
"""

from __future__ import annotations

import json
import logging
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
    """Base of the actors: override ``on_start`` (open listeners/loops) and ``handle``.

    Parameters
    ----------
    bus, store:
        Where messages and documents live.
    name:
        The actor's name: thread names, listener names, ``actor`` in state histories.
    """

    def __init__(self, bus: MessageBus, store: Store, *, name: str) -> None:
        self.bus = bus
        self.store = store
        self.name = name
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


# -- message bodies ------------------------------------------------------------------
def is_redelivery(message: Mapping[str, Any]) -> bool:
    """True if claimed ``message`` was delivered before (its handler may have done the work)."""
    attempts = message.get("attempts")
    return isinstance(attempts, int) and attempts > 1


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
