"""Where an injected crash may stop a thread: anywhere but inside a ``crash_deferred()`` section.

``Listener.crash`` (for ``drwlab.faults``) stops a running handler by raising
an exception inside its thread at the next Python instruction (CPython's
``PyThreadState_SetAsyncExc``): as close as a thread gets to a killed process.
A few steps must not be split that way, because what they made would then
belong to nobody: a child process started and not yet held by the handler
(the pipeline driver starts its pipeline in one), or an HTTP request whose
socket is connected but not yet its connection's (urllib3 would leave it to
the garbage collector: a ResourceWarning, and a socket a killed process would
not have left). Such steps run inside ``crash_deferred()``; a crash asked for
meanwhile is raised as the outermost section ends, where the step's clean-up
(``except``, ``finally``) can see what it made.

This module sits below the store and the bus: the CouchDB store defers a
crash during each request, the listener arms its handler's thread.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

_armed = threading.local()
"""Per thread: ``target``, the Crashable whose ``armed()`` section the thread is in."""


class Crashable:
    """A thread that may be crashed with ``error`` while inside ``armed()`` (a handler's)."""

    def __init__(self, error: type[BaseException]) -> None:
        self._error = error
        self._lock = threading.Lock()
        self._thread_id: int | None = None  # the armed thread's, while armed
        self._deferred = 0  # how deep the armed thread is in crash_deferred() sections
        self.crashed = False

    @contextmanager
    def armed(self) -> Iterator[None]:
        """The calling thread may be crashed while inside (outside, ``crash`` only notes it)."""
        with self._lock:
            self._thread_id = threading.get_ident()
            self._deferred = 0
        _armed.target = self
        try:
            yield
        finally:
            _armed.target = None
            with self._lock:
                self._thread_id = None

    def crash(self) -> None:
        """Raise the error in the armed thread, now or as its deferring section ends."""
        with self._lock:
            self.crashed = True
            if self._thread_id is not None and self._deferred == 0:
                _raise_in_thread(self._thread_id, self._error)

    def _enter(self) -> None:
        with self._lock:
            self._deferred += 1

    def _leave(self) -> bool:
        """Leave a deferring section; True if a crash waits for its end."""
        with self._lock:
            self._deferred -= 1
            return self._deferred == 0 and self.crashed


@contextmanager
def crash_deferred() -> Iterator[None]:
    """Steps that a crash must not split (see the module docstring).

    Inside, a crash of this thread waits; it is raised as the outermost
    section ends. In a thread that is not armed (not a handler) it does nothing.
    """
    target: Crashable | None = getattr(_armed, "target", None)
    if target is None:
        yield
        return
    target._enter()
    try:
        yield
    finally:
        if target._leave():
            raise target._error


def _raise_in_thread(thread_id: int, error: type[BaseException]) -> None:
    """Make thread ``thread_id`` raise ``error`` at its next Python instruction.

    CPython's documented C API for this (``PyThreadState_SetAsyncExc``); the only
    way to stop a handler where it stands, short of killing the process.
    """
    found = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(error)
    )
    if found != 1:
        logger.debug("thread %s had ended before it could be crashed", thread_id)
