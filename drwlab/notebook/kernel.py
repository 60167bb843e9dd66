"""The kernel's Sandbox: one per notebook kernel, started afresh each time the notebook starts it.

Module-level state: exactly one, ``_KERNEL``, the Sandbox this kernel's
notebook started (a notebook kernel is one process running one notebook, so
"the notebook's sandbox" is per process). It is created by ``start_sandbox``,
replaced by a fresh one when the notebook starts it again (a second Run All,
or the start cell run again: the notebook's story starts over, and what the
earlier run built on the old sandbox is put away, ``rerun.put_away``), and
forgotten by ``stop_sandbox``,
which also runs when the kernel ends (registered with ``atexit`` by the first
``start_sandbox``), so a kernel shut down with its sandbox running leaves no
work dir behind. This is the only such global in drwlab; nothing else here
keeps state, reads configuration at import or starts threads.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from drwlab.notebook.rerun import put_away
from drwlab.sandbox import Sandbox
from drwlab.settings import from_environment
from drwlab.store import is_couchdb_url
from drwlab.store.namespace import FRESH_PREFIX, fresh_namespace, split_namespace
from drwlab.wire import DEFAULT_FAILURE_RATE

log = logging.getLogger(__name__)


class _KernelSandbox:
    """The one Sandbox of this kernel, and the options it was started with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sandbox: Sandbox | None = None
        self.options: dict[str, Any] = {}
        self.exit_hook_registered = False


_KERNEL = _KernelSandbox()


def autopilot() -> bool:
    """True when ``DRWLAB_AUTOPILOT`` is set (the test command): notebooks then press
    their own QA2 buttons, as nobody is there to click."""
    return from_environment().autopilot


def start_sandbox(
    *,
    seed: int | None = None,
    failure_rate: float = DEFAULT_FAILURE_RATE,
    time_scale: float | None = None,
    executives: tuple[str, ...] = ("EU",),
    quiet: bool = True,
) -> Sandbox:
    """A fresh running Sandbox with these options, in place of the kernel's earlier one.

    ``time_scale=None`` takes ``DRWLAB_TIME_SCALE`` (the fast mode of the test
    command) or the original's timings. The sandbox starts on a fresh
    temporary work dir and SQLite store or, when ``DRWLAB_STORE`` is a CouchDB
    URL, on that server in a fresh namespace of its own (:func:`store_for_notebook`),
    dropped with the sandbox. AQUA QA2 never decides by itself
    here: in the notebooks a person (or, under the autopilot, the notebook's
    own code) presses the buttons. ``quiet`` keeps log lines out of the
    cells' outputs (see :func:`quiet_logging`).
    """
    if quiet:
        quiet_logging()
    options: dict[str, Any] = {
        "seed": seed,
        "failure_rate": failure_rate,
        "time_scale": time_scale,
        "executives": tuple(executives),
    }
    with _KERNEL.lock:
        current = _KERNEL.sandbox
        if current is not None:
            put_away(current)  # what the notebook built on it: its buses and actors
            current.discard()
            _KERNEL.sandbox = None
        sandbox = Sandbox(start=False, **store_for_notebook(), **options)
        sandbox.autopilot = None  # QA2 decisions belong to the notebook, not to AQUA
        try:
            sandbox.start()
        except BaseException:
            sandbox.discard()  # its work dir and namespace: a failed start leaves nothing
            raise
        _KERNEL.sandbox, _KERNEL.options = sandbox, options
        if not _KERNEL.exit_hook_registered:
            atexit.register(stop_sandbox)
            _KERNEL.exit_hook_registered = True
        log.info("notebook sandbox started: %r", sandbox)
        return sandbox


def store_for_notebook() -> dict[str, Any]:
    """The Sandbox arguments of a notebook's store: none (a fresh SQLite file), or
    ``DRWLAB_STORE``'s CouchDB server and a fresh namespace on it.

    The namespace is named after the one ``DRWLAB_STORE`` names, if any
    (``?namespace=alice`` gives ``alice_20261207_063112_3fa2``, so an instructor
    sees whose it is), else ``nb_...``. An SQLite ``DRWLAB_STORE`` is not used: one
    file shared by every notebook run would mix their OUSs.
    """
    url = from_environment().store_url
    if url is None or not is_couchdb_url(url):
        return {}
    server, asked = split_namespace(url)
    return {"store": server, "namespace": fresh_namespace(asked or FRESH_PREFIX)}


def quiet_logging() -> None:
    """Log errors only, in this kernel.

    In a notebook every log record at WARNING or above reaches a cell's output
    as stderr (Python's last-resort handler), which looks like a failure; the
    board and the tables already show what the actors do. This is the
    notebook's own logging set-up, so it changes the kernel's root logger.
    """
    logging.getLogger().setLevel(logging.ERROR)


def stop_sandbox() -> None:
    """Stop the kernel's Sandbox (its actors, servers and live views), if any, and
    delete its temporary work dir: the next ``start_sandbox()`` makes a fresh one."""
    with _KERNEL.lock:
        if _KERNEL.sandbox is not None:
            _KERNEL.sandbox.discard()
        _KERNEL.sandbox, _KERNEL.options = None, {}
