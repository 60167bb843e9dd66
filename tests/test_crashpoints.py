"""An injected crash stops a handler's thread where it stands, except inside ``crash_deferred()``.

``drwlab.crashpoints`` is what ``Listener.crash`` uses; the store's HTTP
requests run deferred, so a crash never splits one (a split request can leave
a connected socket nobody owns).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from drwlab.crashpoints import Crashable, crash_deferred
from drwlab.store import open_store
from tests.servers import CouchServer


class Crashed(BaseException):
    """What the tests crash their threads with (a BaseException, as ListenerCrashed)."""


def run_armed(crashable: Crashable, work: Callable[[], None]) -> tuple[threading.Thread, list]:
    """Run ``work`` in an armed thread; the list gets what stopped it (or "returned")."""
    outcome: list = []

    def target() -> None:
        with crashable.armed():
            try:
                work()
                outcome.append("returned")
            except Crashed as crash:
                outcome.append(crash)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_a_crash_stops_an_armed_thread_at_once_outside_a_deferred_section() -> None:
    crashable, started = Crashable(Crashed), threading.Event()
    turns: list[int] = []

    def loop() -> None:
        for turn in range(1000):  # bounded: 10 s at most
            turns.append(turn)
            started.set()
            time.sleep(0.01)

    thread, outcome = run_armed(crashable, loop)
    assert started.wait(10)
    crashable.crash()
    thread.join(10)
    assert isinstance(outcome[0], Crashed) and len(turns) < 1000


def test_a_crash_waits_for_the_end_of_the_outermost_deferred_section() -> None:
    crashable, inside, go_on = Crashable(Crashed), threading.Event(), threading.Event()
    steps: list[str] = []

    def work() -> None:
        with crash_deferred():
            with crash_deferred():
                inside.set()
                assert go_on.wait(10)
            steps.append("inner ended")
        steps.append("after the sections")  # never: the crash is raised as the outer ends

    thread, outcome = run_armed(crashable, work)
    assert inside.wait(10)
    crashable.crash()
    go_on.set()
    thread.join(10)
    assert steps == ["inner ended"] and isinstance(outcome[0], Crashed)


def test_a_thread_that_is_not_armed_is_not_crashed() -> None:
    crashable = Crashable(Crashed)
    crashable.crash()  # nobody armed: only noted
    with crash_deferred():
        ran = True
    assert ran and crashable.crashed


def test_a_crash_during_a_couchdb_request_surfaces_at_its_end_not_inside_requests(
    couch_server: CouchServer,
) -> None:
    with open_store(couch_server.url) as store:
        store.create_db("crashpoints")
        since = store.current_seq("crashpoints")
        crashable, asking = Crashable(Crashed), threading.Event()

        def long_poll() -> None:
            asking.set()
            store.wait_for_change("crashpoints", since, timeout=1.5)  # nothing comes

        thread, outcome = run_armed(crashable, long_poll)
        assert asking.wait(10)
        time.sleep(0.3)  # inside the request now
        crashable.crash()
        thread.join(10)
        store.drop_db("crashpoints")
    assert isinstance(outcome[0], Crashed)
    innermost = traceback.extract_tb(outcome[0].__traceback__)[-1]
    assert (innermost.filename.endswith("drwlab/crashpoints.py"), innermost.name) == (
        True,
        "crash_deferred",
    ), f"raised in {innermost.filename}:{innermost.lineno} ({innermost.name})"
