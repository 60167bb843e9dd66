"""The Sandbox: every actor of the original's single-host topology, in threads of one process.

The topology is the seed's "How to run it": a pipeline driver and its
replicated cache at each ARC executive (EU by default), the JAO cache pulling
from each ARC cache, and XTSS, AQUA QA2, the product ingestor and the data
tracker at JAO, plus the dashboard. Each ``start()`` builds fresh actors, so a
notebook kernel can start, stop and start again; every HTTP server takes a
free port and the default work dir is a fresh temporary directory, so two
sandboxes never collide.

The sandbox sits below the notebook layer and above the views: it starts the
dashboard server and writes reports, and imports nothing of ``drwlab.notebook``.

``wait_for`` waits on the store's change feed (a ``ChangeCursor``, the one
helper every non-bus follower uses), never on a sleep loop, and
gives up early when the OUS rests in a final state (Delivered,
ProcessingProblem) other than the one asked for: no actor will move it on
without a person relaunching it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from drwlab.actors.aqua_qa2 import AquaQA2
from drwlab.actors.data_tracker import DataTracker
from drwlab.actors.launcher import Launched, Launcher
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.product_ingestor import ProductIngestor
from drwlab.actors.replicated_cache import ReplicatedCache
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.bus.message import CLAIMED
from drwlab.bus.message import DB as MSGQ
from drwlab.clearall import clear_all
from drwlab.credentials import hide_password
from drwlab.errors import (
    IllegalTransition,
    InvalidMessage,
    NotFound,
    PipelineFailed,
    StoreUnavailable,
    UnknownOus,
)
from drwlab.faults import Crash, UnreachableStore, crash_actor
from drwlab.lifecycle import EXECUTIVES, FINAL_STATES, State, parse_state
from drwlab.settings import from_environment
from drwlab.store import Store, drop_namespace, empty_namespace, open_store, sqlite_url
from drwlab.store.base import Doc
from drwlab.store.cursor import ChangeCursor
from drwlab.uids import check_uid, uid_to_doc_id
from drwlab.views.dashboard import Dashboard
from drwlab.views.report import write_report
from drwlab.wire import DEFAULT_FAILURE_RATE, STATUS_DB, time_scale_or_default

log = logging.getLogger(__name__)

JAO = "JAO"
DB_FILE = "drwlab.db"


class Part(Protocol):
    """What the sandbox needs of each part it runs: the actors and the dashboard server."""

    def start(self) -> Any: ...

    def stop(self, timeout: float = ...) -> None: ...


class Sandbox:
    """All actors of one host, in threads of this process; see the module docstring.

    Parameters
    ----------
    store:
        None (an SQLite file in the work dir; ``DRWLAB_STORE`` is not
        consulted, so two sandboxes never share a store by accident), a store
        URL, or an open Store (left open by the sandbox).
    workdir:
        Where caches (``caches/<EXEC>``) and pipeline runs (``pipeline/<EXEC>``)
        go; None: a fresh temporary directory.
    time_scale:
        Multiplies every simulated delay (0: none); None: ``DRWLAB_TIME_SCALE`` or 1.0.
    seed, failure_rate:
        The mock pipeline's random seed and share of runs ending in ProcessingProblem.
    executives:
        The ARCs (or JAO) running a pipeline driver.
    autopilot:
        A QA2 flag AQUA answers automatically (e.g. "Pass"; True means
        "Pass"); False: a person decides; None: "Pass" when
        ``DRWLAB_AUTOPILOT`` is set, else a person decides.
    host:
        Address of the HTTP servers (caches, dashboard), on free ports.
    max_runs:
        Pipeline runs each driver may have at once (the original's ``-mr``).
    lease:
        Seconds a listener owns a claimed message (``MessageBus(lease=...)``):
        after a crash, the wait before another listener takes it.
    namespace:
        With a CouchDB ``store`` URL: the namespace of that server's databases
        this sandbox makes for itself (``drwlab.store.namespace``; e.g.
        ``fresh_namespace()``). It must have no databases yet, and ``discard()``
        drops them. None: the URL's own namespace (or the server's top), kept.
    start:
        Start the actors at once (else call ``start()``).
    """

    def __init__(
        self,
        store: Store | str | None = None,
        workdir: str | Path | None = None,
        time_scale: float | None = None,
        seed: int | None = None,
        failure_rate: float = DEFAULT_FAILURE_RATE,
        *,
        executives: Iterable[str] = ("EU",),
        autopilot: str | bool | None = None,
        host: str = "127.0.0.1",
        max_runs: int = 1,
        lease: float = 30.0,
        namespace: str | None = None,
        start: bool = True,
    ) -> None:
        settings = from_environment()
        self.executives = _check_executives(executives)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="drwlab-")).resolve()
        self._made_workdir = workdir is None
        self.time_scale = time_scale_or_default(time_scale, settings.time_scale)
        self.seed = seed
        self.failure_rate = failure_rate
        self.autopilot = _autopilot(autopilot, settings.autopilot)
        self.host = host
        self.max_runs = max_runs
        self.lease = lease
        self.caches: dict[str, Path] = {
            ex: self.workdir / "caches" / ex for ex in (*self.executives, JAO)
        }
        self._owns_store = not isinstance(store, Store)
        self.store_url = (
            store.url if isinstance(store, Store) else store or sqlite_url(self.workdir / DB_FILE)
        )
        self._made_namespace = namespace is not None
        if namespace is not None:
            self.store_url = empty_namespace(store, namespace)
        self._store: Store | None = store if isinstance(store, Store) else None
        self._lock = threading.RLock()
        self._actors: list[tuple[str, Part]] = []
        self._bus: MessageBus | None = None
        self._named: dict[str, Any] = {}
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Sandbox({hide_password(self.store_url)!r}, workdir={str(self.workdir)!r}, {state})"

    # -- lifetime -------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._bus is not None

    def start(self) -> Sandbox:
        """Build fresh actors and start them, JAO side first (idempotent)."""
        with self._lock:
            if self._bus is not None:
                return self
            for path in self.caches.values():
                (path / "weblogs").mkdir(parents=True, exist_ok=True)
            self._bus = MessageBus(self.store, lease=self.lease)
            try:
                for name, build in self._plan():
                    self._start_one(name, build)
            except BaseException:
                log.exception("sandbox failed to start; stopping what started")
                self.stop()
                raise
            log.info("sandbox running: store %s, work dir %s", self.store.url, self.workdir)
            return self

    def _start_one(self, name: str, build: Callable[[], Part]) -> None:
        log.info("starting %s", name)
        actor = build()
        actor.start()
        self._actors.append((name, actor))
        self._named[name] = actor

    def _plan(self) -> list[tuple[str, Callable[[], Part]]]:
        """(name, builder) in start order; builders run in turn, so later ones see earlier URLs."""
        bus, store, ts = self.bus, self.store, self.time_scale
        plan: list[tuple[str, Callable[[], Part]]] = [("xtss", lambda: Xtss(bus, store))]
        for ex in (JAO, *[e for e in self.executives if e != JAO]):
            plan.append((f"cache.{ex}", self._cache_builder(ex)))
        plan += [
            ("data-tracker", lambda: DataTracker(bus, store, time_scale=ts)),
            (
                "product-ingestor",
                lambda: ProductIngestor(bus, store, cache_dir=self.caches[JAO], time_scale=ts),
            ),
            ("aqua-qa2", self._qa2_builder),
        ]
        for i, ex in enumerate(self.executives):
            plan.append((f"pipeline-driver.{ex}", self._driver_builder(ex, i)))
        plan.append(("dashboard", self._dashboard_builder))
        return plan

    def _cache_builder(self, ex: str) -> Callable[[], Part]:
        remotes = {arc: str(self.caches[arc]) for arc in self.executives if arc != JAO}
        return lambda: ReplicatedCache(
            self.bus,
            self.store,
            executive=ex,
            cache_dir=self.caches[ex],
            remotes=remotes if ex == JAO else {},
            host=self.host,
            port=0,
        )

    def _qa2_builder(self) -> Part:
        jao_cache: ReplicatedCache = self._named[f"cache.{JAO}"]
        return AquaQA2(
            self.bus,
            self.store,
            cache_dir=self.caches[JAO],
            cache_url=jao_cache.url,
            autopilot=self.autopilot,
        )

    def _dashboard_builder(self) -> Part:
        return Dashboard(self.store, host=self.host, port=0, links=self.urls)

    def _driver_builder(self, ex: str, index: int) -> Callable[[], Part]:
        seed = None if self.seed is None else self.seed + index
        return lambda: PipelineDriver(
            self.bus,
            self.store,
            executive=ex,
            cache_dir=self.caches[ex],
            work_dir=self.workdir / "pipeline" / ex,
            max_runs=self.max_runs,
            time_scale=self.time_scale,
            seed=seed,
            failure_rate=self.failure_rate,
        )

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every actor, drivers first and XTSS last, and close the bus (idempotent).

        Every actor is told to stop first, so their loops wind down together;
        then each is stopped and joined in turn, within ``timeout`` in all.
        """
        with self._lock:
            deadline = time.monotonic() + timeout
            in_order = list(reversed(self._actors))
            for _, actor in in_order:
                stopping = getattr(actor, "stopping", None)
                if isinstance(stopping, threading.Event):
                    stopping.set()
            for name, actor in in_order:
                log.info("stopping %s", name)
                try:
                    actor.stop(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:
                    log.exception("error stopping %s", name)
            self._actors, self._named = [], {}
            if self._bus is not None:
                log.info("closing the bus")
                self._bus.close(timeout=max(0.1, deadline - time.monotonic()))
                self._bus = None
            if self._owns_store and self._store is not None:
                self._store.close()
                self._store = None
            log.info("sandbox stopped")

    def discard(self, timeout: float = 2.0) -> None:
        """Stop, then delete the work dir if this sandbox made it (a temporary directory).

        For a sandbox nobody will look into again, as a notebook's
        ``stop_sandbox()``: a classroom starts many, and each would leave
        megabytes in the temporary directory. ``stop()`` deletes nothing, and a
        work dir the caller named is never deleted: the caller may want to look.
        Likewise the databases of the namespace this sandbox made (``namespace=``)
        are dropped, and no others.
        """
        self.stop(timeout)
        if self._made_namespace:
            self._drop_namespace()
        if not self._made_workdir:
            return
        with self._lock:
            log.info("removing the work dir %s", self.workdir)
            try:
                shutil.rmtree(self.workdir)
            except FileNotFoundError:
                pass
            except OSError as error:  # left for the system's temp cleaner; not worth a failure
                log.warning("could not remove the work dir %s: %s", self.workdir, error)

    def _drop_namespace(self) -> None:
        with self._lock:
            try:
                dropped = drop_namespace(self.store_url)
            except StoreUnavailable as error:  # at a kernel's exit: say so, do not fail
                log.warning("could not drop the namespace of %s: %s", self, error)
                return
            self._made_namespace = False
            log.info("dropped %s of %s", ", ".join(dropped) or "nothing", self)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- parts ----------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The store (opened again after a stop, when the sandbox owns it)."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.store_url)
            return self._store

    @property
    def bus(self) -> MessageBus:
        """The running sandbox's message bus."""
        if self._bus is None:
            raise RuntimeError("the sandbox is stopped: call start() first")
        return self._bus

    @property
    def qa2(self) -> AquaQA2:
        """AQUA QA2: ``ready_for_review()``, ``review(uid)``, ``decide(uid, flag)``.

        The one running as ``aqua-qa2``: after ``replace_actor("aqua-qa2", ...)``
        the replacement. Raises RuntimeError saying why when none runs (the
        sandbox is stopped, or that actor was stopped or crashed).
        """
        return self._part("aqua-qa2")  # type: ignore[no-any-return]

    def _part(self, name: str) -> Any:
        """The actor running as ``name``; RuntimeError saying why if none is running."""
        with self._lock:
            if not self.running:
                raise RuntimeError("the sandbox is stopped: call start() first")
            actor = self._named.get(name)
            if actor is None:
                raise RuntimeError(
                    f"{name!r} was stopped (stop_actor): start one again with "
                    f"add_actor(..., name={name!r})"
                )
            if getattr(actor, "is_alive", True) is False:
                raise RuntimeError(
                    f"{name!r} is dead (crashed, or stopped outside the sandbox): "
                    f"replace_actor({name!r}, ...) puts a new one in its place"
                )
            return actor

    @property
    def urls(self) -> dict[str, str]:
        """``cache.EU``, ``weblogs.EU``, ``cache.JAO``, ``weblogs.JAO``, ... and ``dashboard``."""
        urls: dict[str, str] = {}
        for name, actor in self._actors:
            if isinstance(actor, ReplicatedCache):
                ex = name.split(".", 1)[1]
                urls[f"cache.{ex}"] = actor.url
                urls[f"weblogs.{ex}"] = actor.url.rstrip("/") + "/weblogs/"
        dashboard = self._named.get("dashboard")
        if dashboard is not None:
            urls["dashboard"] = dashboard.url
        return urls

    # -- your own actors -------------------------------------------------------------
    @property
    def actors(self) -> dict[str, Part]:
        """What runs, by name, in start order: the stock actors, the dashboard, yours."""
        with self._lock:
            return dict(self._actors)

    def add_actor(self, actor: Part, name: str | None = None) -> Part:
        """Start ``actor`` in the running sandbox, under ``name`` (default: ``actor.name``).

        Build it on this sandbox: ``MyActor(sandbox.bus, sandbox.store)``. It is
        stopped first by ``stop()`` (before the stock actors it talks to), and
        not built again by a later ``start()``: add it again then.

        Raises ValueError for a name already running (``replace_actor`` it), an
        actor started already or built on another bus; RuntimeError if the
        sandbox is stopped; what the actor's ``start()`` raised.
        """
        with self._lock:
            name = self._new_part_name(actor, name)
            if name in self._named:
                raise ValueError(f"an actor named {name!r} runs already: use replace_actor()")
            self._start_one(name, lambda: actor)
            return actor

    def stop_actor(self, name: str, timeout: float = 2.0) -> Part:
        """Stop the actor ``name`` (a stock one too, e.g. ``pipeline-driver.EU``); returns it.

        Raises KeyError naming what runs if nothing runs under ``name``.
        """
        with self._lock:
            index = self._index_of(name)
            _, actor = self._actors.pop(index)
            del self._named[name]
            log.info("stopping %s", name)
            actor.stop(timeout=timeout)
            return actor

    def replace_actor(self, name: str, actor: Part, timeout: float = 2.0) -> Part:
        """Stop the actor ``name`` and start ``actor`` in its place; returns the stopped one.

        The new actor takes the old one's name here (``sandbox.qa2`` is the
        new AQUA after ``replace_actor("aqua-qa2", ...)``) and its place in the
        stop order. If it fails to start, the old one is started again and the
        error raised. Raises as ``add_actor`` and ``stop_actor``.
        """
        with self._lock:
            index = self._index_of(name)
            self._new_part_name(actor, name)
            old = self._actors[index][1]
            log.info("replacing %s by %r", name, actor)
            old.stop(timeout=timeout)
            try:
                actor.start()
            except BaseException:
                log.exception("%r failed to start; starting the %s it replaced again", actor, name)
                old.start()
                raise
            self._actors[index] = (name, actor)
            self._named[name] = actor
            return old

    def _index_of(self, name: str) -> int:
        for index, (known, _) in enumerate(self._actors):
            if known == name:
                return index
        running = ", ".join(known for known, _ in self._actors) or "nothing (stopped)"
        raise KeyError(f"no actor named {name!r} runs in this sandbox; it runs: {running}")

    def _new_part_name(self, actor: Part, name: str | None) -> str:
        """The name ``actor`` will run under; ValueError if it cannot join this sandbox."""
        bus = self.bus  # RuntimeError when stopped
        if getattr(actor, "is_alive", False):
            raise ValueError(f"{actor!r} is started already: give the sandbox a new one")
        if getattr(actor, "bus", bus) is not bus:
            raise ValueError(
                f"{actor!r} was built on another bus: build it with sandbox.bus "
                "(a sandbox started again has a new bus)"
            )
        name = name or getattr(actor, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{actor!r} has no name: pass name=")
        return name

    # -- faults (drwlab.faults; docs/faults.md) ----------------------------------------
    def prepare_faults(self, lease: float = 5.0) -> UnreachableStore:
        """Start the actors again over a store that can be switched off, with claims of
        ``lease`` s, so that ``crash`` and ``outage`` can be shown in seconds; returns the store.

        For a notebook's first cells: what read the sandbox before (views, links,
        a bus or listeners of your own) was on the stopped actors and the old store.
        The store stays unreachable-capable until the sandbox stops.
        """
        with self._lock:
            self.stop()
            self.lease = lease
            store = self.store
            faulty = store if isinstance(store, UnreachableStore) else UnreachableStore(store)
            self._store = faulty
            self.start()
            return faulty

    def crash(self, actor: str) -> Crash:
        """Crash the actor named ``actor`` mid-message: ``drwlab.faults.crash_actor`` on this bus.

        Its listeners die as a killed process's would; what they held waits out
        ``lease`` seconds, then a competing listener takes it. The actor stays
        in ``actors`` (dead): ``stop_actor`` it to remove it. Raises ValueError if
        no listener of ``actor`` runs.
        """
        return crash_actor(self.bus, actor)

    def outage(self, seconds: float) -> None:
        """Make the store unreachable for ``seconds`` (``UnreachableStore.outage``).

        Raises RuntimeError unless ``prepare_faults()`` made the store switchable.
        """
        store = self.store
        if not isinstance(store, UnreachableStore):
            raise RuntimeError("this sandbox's store cannot be switched off: call prepare_faults()")
        store.outage(seconds)

    def holder(self, uid: str) -> str | None:
        """The actor whose listener holds (has claimed) the pipeline request of OUS ``uid``,
        e.g. ``pipeline-driver.EU``; None when no listener holds one now."""
        for doc in self.store.find(MSGQ, {"state": CLAIMED}):
            body = doc.get("body")
            if isinstance(body, dict) and body.get("ousUID") == uid:
                return str(doc.get("claimedBy", "")).split("@")[0].rsplit("-", 1)[0]
        return None

    def add_pipeline_driver(self, executive: str = "EU", name: str | None = None) -> Part:
        """Start another pipeline driver at ``executive``, competing with the one there.

        Named ``pipeline-driver.<executive>.<n>`` (n = 2, 3, ...) unless ``name``
        is given; it shares the executive's cache, runs its pipelines in a
        work dir of its own, and stops with the sandbox. Raises ValueError for
        an executive without a driver here, and as ``add_actor``.
        """
        if executive not in self.executives:
            raise ValueError(
                f"no pipeline driver at {executive!r} here to compete with "
                f"(drivers at: {', '.join(self.executives)})"
            )
        with self._lock:
            taken = set(self.actors)
            number = 2
            while f"pipeline-driver.{executive}.{number}" in taken:
                number += 1
            name = name or f"pipeline-driver.{executive}.{number}"
            driver = PipelineDriver(
                self.bus,
                self.store,
                executive=executive,
                cache_dir=self.caches[executive],
                work_dir=self.workdir / "pipeline" / name,
                max_runs=self.max_runs,
                time_scale=self.time_scale,
                seed=None if self.seed is None else self.seed + len(taken),
                failure_rate=self.failure_rate,
                name=name,
            )
            return self.add_actor(driver, name)

    # -- using it -------------------------------------------------------------------
    def launch(
        self, prog_id: str, uid: str, recipe: str = "PipelineCalibration", executive: str = "EU"
    ) -> Launched:
        """Put the OUS in ReadyForProcessing (new, or again) and send it to ``executive``'s driver.

        Raises InvalidMessage for an executive without a driver here, and what
        ``Launcher.launch`` raises (a malformed uid, an OUS in flight or delivered).
        """
        if executive not in self.executives:
            raise InvalidMessage(
                f"no pipeline driver for executive {executive!r} in this sandbox "
                f"(it runs: {', '.join(self.executives)}); "
                f"use Sandbox(executives=[..., {executive!r}])"
            )
        return Launcher(self.bus, self.store).launch(
            prog_id, uid, recipe=recipe, executive=executive
        )

    def entity(self, uid: str) -> Doc:
        """The OUS status entity (state, substate, flags, history); UnknownOus if absent."""
        try:
            return self.store.get(STATUS_DB, uid_to_doc_id(uid))
        except NotFound:
            raise UnknownOus(f"no status entity for {uid}") from None

    def wait_for(self, uid: str, state: State | str, timeout: float = 60.0) -> Doc:
        """Wait until the OUS is in ``state`` and return its entity.

        Raises
        ------
        TimeoutError
            Not there within ``timeout`` s (the message names the current state).
        PipelineFailed
            The OUS is in ProcessingProblem (and ``state`` is another one).
        IllegalTransition
            The OUS is Delivered (and ``state`` is another one).
        """
        return self.wait_for_any(uid, [state], timeout)

    def wait_for_any(self, uid: str, states: Iterable[State | str], timeout: float = 60.0) -> Doc:
        """Wait until the OUS is in one of ``states``; errors as :meth:`wait_for`."""
        wanted = {parse_state(s) for s in states}
        doc_id = uid_to_doc_id(check_uid(uid))
        deadline = time.monotonic() + timeout
        store = self.store
        feed = ChangeCursor(store, STATUS_DB)
        while True:
            feed.mark()  # before looking: a change landing meanwhile ends the wait below
            doc = _get_or_none(store, doc_id)
            if doc is not None and _is_there(uid, doc, wanted):
                return doc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(_timeout_message(uid, wanted, doc, timeout))
            feed.wait(min(remaining, 1.0))

    def reset(self) -> None:
        """The original's clear-all: empty every database and cache; works while running."""
        with self._lock:
            if self.running or not self._owns_store:
                clear_all(self.store, self.caches.values(), running=self.running)
                return
            with open_store(self.store_url) as store:
                clear_all(store, self.caches.values())

    def export_report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report of this sandbox's store to ``path``."""
        return write_report(self.store, Path(path), links=self.urls)


# -- helpers ------------------------------------------------------------------------
def _check_executives(executives: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(executives))
    unknown = [ex for ex in chosen if ex not in EXECUTIVES]
    if unknown or not chosen:
        raise ValueError(f"executives must be some of {', '.join(EXECUTIVES)}, not {unknown}")
    return chosen


def _autopilot(asked: str | bool | None, from_env: bool) -> str | None:
    if asked is None:
        asked = from_env
    if isinstance(asked, bool):
        return "Pass" if asked else None
    return asked


def _get_or_none(store: Store, doc_id: str) -> Doc | None:
    try:
        return store.get(STATUS_DB, doc_id)
    except NotFound:
        return None


def _is_there(uid: str, doc: Mapping[str, Any], wanted: set[State]) -> bool:
    """True when the OUS is in a wanted state; raises if it rests in another final state."""
    state = parse_state(doc.get("state"))
    if state in wanted:
        return True
    if state not in FINAL_STATES:
        return False
    names = " or ".join(sorted(s.value for s in wanted))
    if state is State.PROCESSING_PROBLEM:
        raise PipelineFailed(
            f"{uid} is in ProcessingProblem ({doc.get('problem') or 'no reason recorded'}); "
            f"it will not reach {names} unless launched again"
        )
    raise IllegalTransition(f"{uid} is {state.value}, a final state: it will never reach {names}")


def _timeout_message(
    uid: str, wanted: set[State], doc: Mapping[str, Any] | None, timeout: float
) -> str:
    names = " or ".join(sorted(s.value for s in wanted))
    if doc is None:
        return f"{uid} did not reach {names} within {timeout:g} s: no such OUS"
    current = doc.get("state")
    if doc.get("substate"):
        current = f"{current}/{doc['substate']}"
    problem = f" (problem: {doc['problem']})" if doc.get("problem") else ""
    return f"{uid} did not reach {names} within {timeout:g} s: it is {current}{problem}"
