"""The pipeline driver (the original's DARED replacement): runs the mock pipeline per request.

It listens on ``pipeline.process.<EXEC>`` for ``{"progID", "ousUID",
"recipe"}``, at most ``max_runs`` runs at once (that many competing
listeners: the bus gives each request to exactly one). For each request:

1. the OUS goes to Processing (through the XTSS);
2. ``python -m drwlab.pipeline ...`` runs as a subprocess in ``work_dir``;
3. on success the products directory and the weblog are copied into the
   replicating cache, ``cached.JAO`` (and ``cached.<EXEC>`` for the weblog)
   are told, the base64 report goes to ``pipeline.report.JAO``, and the OUS
   goes to ReadyForReview;
4. on any failure (exit 2, a crash, a timeout, missing products, a cache
   error, the driver stopping mid-run) the OUS goes to ProcessingProblem with
   the reason, never left in Processing; the driver carries on.

The run's timestamp (its products directory's name) goes to the XTSS with
Processing and ReadyForReview (the entity's ``pipelineRun``), and the
request's message id with every state the run sets (its history), so a request
delivered again after a crash is recognised: its run is over (a duplicate,
acknowledged), or its driver died mid-run (run again).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from drwlab.actors.base import Actor, body_dict, is_redelivery
from drwlab.actors.xtss import REQUEST_FIELD, XtssClient, check_executive, check_recipe
from drwlab.bus import MessageBus, crash_deferred
from drwlab.cachefiles import copy_into_cache
from drwlab.errors import (
    DrwlabError,
    IllegalTransition,
    InvalidMessage,
    NotFound,
    PipelineFailed,
    StoreUnavailable,
    UnknownOus,
)
from drwlab.lifecycle import State
from drwlab.products import ProductsTree, check_prog_id
from drwlab.store.base import Doc, Store
from drwlab.timeutil import format_timestamp, parse_timestamp, timestamp
from drwlab.uids import check_uid, uid_to_doc_id
from drwlab.wire import DEFAULT_FAILURE_RATE, EXECUTIVE_FLAG, STATUS_DB

logger = logging.getLogger(__name__)

EXIT_PROCESSING_PROBLEM = 2
POLL = 0.1
"""How often a running pipeline is checked for the driver stopping or a timeout."""
STOP_CALL_TIMEOUT = 2.0
"""XTSS timeout when recording a run interrupted by stop() (the XTSS may be gone)."""


@dataclass(frozen=True)
class ProcessRequest:
    """A validated ``pipeline.process.*`` body."""

    prog_id: str
    uid: str
    recipe: str

    @classmethod
    def from_body(cls, body: Any) -> ProcessRequest:
        """Validate ``body``; InvalidMessage (or InvalidUid) names what is wrong."""
        fields = body_dict(body, "pipeline.process request", ("progID", "ousUID", "recipe"))
        return cls(
            prog_id=check_prog_id(fields.get("progID")),
            uid=check_uid(fields.get("ousUID")),
            recipe=check_recipe(fields.get("recipe")),
        )


def run_seed(seed: int, uid: str, attempt: int) -> int:
    """The pipeline's seed for one run: reproducible from (seed, uid, attempt), distinct per run."""
    digest = hashlib.sha256(f"{seed}:{uid}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class RunClock:
    """Run timestamps that never repeat, for every pipeline driver of a process.

    A run's products directory is named ``<progID>_<timestamp>`` (ms), as in
    the original. Two drivers of one sandbox (competing on one executive)
    starting runs of the same project in the same millisecond would write
    into, and cache, the same directory, and the later copy would replace
    the earlier in the caches. One clock per process keeps the names apart.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = ""

    def next(self) -> str:
        """Now, or 1 ms after the previous timestamp if now is not later."""
        with self._lock:
            now = timestamp()
            if now <= self._last:
                now = format_timestamp(parse_timestamp(self._last) + timedelta(milliseconds=1))
            self._last = now
            return now


class PipelineDriver(Actor):
    """Runs the mock pipeline for ``pipeline.process.<executive>`` requests (module docstring).

    ``seed`` makes runs reproducible (each run's seed derives from it, the uid
    and the attempt); ``pipeline_timeout`` kills a run that takes longer;
    ``simulate`` (``crash``, ``partial``, ``hang``, ``kill``) makes every run fail
    that way, to show (and test) how failures are handled.
    """

    _clock: ClassVar[RunClock] = RunClock()  # one for every driver of the process

    def __init__(
        self,
        bus: MessageBus,
        store: Store,
        *,
        executive: str,
        cache_dir: Path,
        work_dir: Path,
        max_runs: int = 1,
        time_scale: float = 1.0,
        seed: int | None = None,
        failure_rate: float = DEFAULT_FAILURE_RATE,
        pipeline_timeout: float | None = None,
        python: str = sys.executable,
        simulate: str | None = None,
        name: str | None = None,
    ) -> None:
        executive = check_executive(executive)
        super().__init__(bus, store, name=name or f"pipeline-driver.{executive}")
        if max_runs < 1:
            raise ValueError(f"max_runs must be >= 1, not {max_runs}")
        if time_scale < 0 or not 0.0 <= failure_rate <= 1.0:
            raise ValueError("time_scale must be >= 0 and failure_rate in 0..1")
        self.executive = executive
        self.selector = f"pipeline.process.{executive}"
        self.cache_dir = Path(cache_dir)
        self.work_dir = Path(work_dir)
        self.max_runs = max_runs
        self.time_scale = time_scale
        self.seed = seed
        self.failure_rate = failure_rate
        self.pipeline_timeout = pipeline_timeout
        self.python = python
        self.simulate = simulate
        self.xtss = XtssClient(bus, sender=self.name)

    def on_start(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self.max_runs):
            self.listen(self.selector, self.handle, full_message=True)

    def handle(self, message: Doc) -> None:
        """Process one OUS: Processing, run, then ReadyForReview or ProcessingProblem.

        ``message`` is the whole request message: its id goes into the OUS's history,
        so a redelivered request whose run is over is told apart (a duplicate).
        """
        request = ProcessRequest.from_body(message.get("body"))
        request_id = str(message.get("_id"))
        run = self._run_timestamp()
        attempt = self._start_processing(request.uid, message, run)
        if attempt is None:
            return
        try:
            tree = self._run(request, attempt, run)
            self._publish(request, tree)
        except StoreUnavailable:
            raise  # not the run's fault: the request is run again once the store is back
        except Exception as error:  # whatever went wrong, the OUS must not stay in Processing
            if not isinstance(error, (DrwlabError, OSError)):
                logger.exception("%s: unexpected failure on %s", self.name, request.uid)
            self._finish(request.uid, State.PROCESSING_PROBLEM, _reason(error), request_id)
            return
        self._finish(
            request.uid, State.READY_FOR_REVIEW, "pipeline run succeeded", request_id, run=run
        )

    # -- steps ------------------------------------------------------------------------
    def _start_processing(self, uid: str, message: Doc, run: str) -> int | None:
        """Set Processing; return which processing attempt of ``uid`` this is (1, 2, ...),
        or None if ``message`` is a duplicate (its run is over: nothing to do)."""
        request_id = str(message.get("_id"))
        entity: Doc | None
        try:
            entity = self.xtss.set_state(
                uid, State.PROCESSING, reason=f"on {self.executive}", run=run, request=request_id
            )
        except (IllegalTransition, UnknownOus) as error:
            entity = self._take_over(uid, message, f"{type(error).__name__}: {error}")
        if entity is None:
            return None
        history = entity.get("history") or []
        return sum(1 for entry in history if entry.get("state") == State.PROCESSING.value)

    def _take_over(self, uid: str, message: Doc, refusal: str) -> dict[str, Any] | None:
        """What to do with a request whose OUS could not be set to Processing.

        - the OUS is in Processing on this executive, set by this request (its driver
          died mid-run: the request is a redelivery) or by another tool (the original's
          ``dra.py``): run it, and return the entity;
        - this request's run is over already (it is in the OUS's history): a
          duplicate, None;
        - anything else is a stale request: InvalidMessage (retrying cannot help).
        """
        request_id = str(message.get("_id"))
        try:
            entity = self.store.get(STATUS_DB, uid_to_doc_id(uid))
        except NotFound:
            raise InvalidMessage(f"cannot process {uid}: {refusal}") from None
        owner = entity.get(REQUEST_FIELD)
        flags = entity.get("flags") or {}
        if (
            entity.get("state") == State.PROCESSING.value
            and flags.get(EXECUTIVE_FLAG) in (self.executive, None)
            and owner in (request_id, None)
        ):
            if owner == request_id or is_redelivery(message):
                logger.warning(
                    "%s: %s was left in Processing by an interrupted run; running it again",
                    self.name,
                    uid,
                )
            else:
                logger.info(
                    "%s: %s was set to Processing by %s; processing it as a first run",
                    self.name,
                    uid,
                    _last_actor(entity),
                )
            return entity
        if any(entry.get("request") == request_id for entry in entity.get("history") or []):
            logger.info(
                "%s: %s: request %s was processed already (the OUS is in %s); duplicate",
                self.name,
                uid,
                request_id,
                entity.get("state"),
            )
            return None
        raise InvalidMessage(f"cannot process {uid}: {refusal}")

    def _run(self, request: ProcessRequest, attempt: int, run: str) -> ProductsTree:
        """Run the pipeline; the complete products tree, or PipelineFailed with the reason."""
        tree = ProductsTree(self.work_dir, request.prog_id, request.uid, run)
        command = self._command(request, tree.timestamp, attempt)
        logger.info("%s: running the pipeline on %s (attempt %d)", self.name, request.uid, attempt)
        code, stdout, stderr = self._execute(command)
        if code == EXIT_PROCESSING_PROBLEM:
            raise PipelineFailed(_last_line(stderr) or "processing problem (exit code 2)")
        if code != 0:
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            raise PipelineFailed(f"pipeline crashed ({how}): {_tail(stderr) or 'no message'}")
        summary = _summary(stdout)
        if summary.get("productsDir") != tree.products_dir:
            raise PipelineFailed(
                f"pipeline reported products {summary.get('productsDir')!r}, "
                f"expected {tree.products_dir!r}"
            )
        tree.check()
        return tree

    def _command(self, request: ProcessRequest, run_timestamp: str, attempt: int) -> list[str]:
        """The pipeline's command line. Every value rides in ``--option=value`` form and the
        positional arguments come after ``--``: no value can be read as an option."""
        options = {
            "out": str(self.work_dir.absolute()),
            "recipe": request.recipe,
            "time-scale": repr(self.time_scale),
            "failure-rate": repr(self.failure_rate),
            "timestamp": run_timestamp,
        }
        if self.seed is not None:
            options["seed"] = str(run_seed(self.seed, request.uid, attempt))
        if self.simulate is not None:
            options["simulate"] = self.simulate
        command = [self.python, "-m", "drwlab.pipeline"]
        command += [f"--{name}={value}" for name, value in options.items()]
        return [*command, "--", request.prog_id, request.uid, self.executive]

    def _execute(self, command: list[str]) -> tuple[int, str, str]:
        """Run ``command``; kill it on timeout or when the driver stops (PipelineFailed).

        Whatever ends the wait early (PipelineFailed, or a crash raised into this
        thread by ``drwlab.faults``) kills the process and collects it, so that
        neither it nor its pipes are left behind.
        """
        started = time.monotonic()
        process: subprocess.Popen[str] | None = None
        try:
            with crash_deferred():  # a crash never leaves a child started but not held
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            while True:
                try:
                    stdout, stderr = process.communicate(timeout=POLL)
                    return process.returncode, stdout, stderr
                except subprocess.TimeoutExpired:
                    problem = self._reason_to_kill(time.monotonic() - started)
                if problem is not None:
                    raise PipelineFailed(problem)
        except BaseException:
            if process is None:
                raise
            process.kill()  # nothing if it has ended
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()  # (not communicate(): an interrupted one may not finish)
            process.wait()
            raise

    def _reason_to_kill(self, elapsed: float) -> str | None:
        """Why a pipeline run ``elapsed`` s long must be killed now, or None."""
        if self.stopping.is_set():
            return "the pipeline driver was stopped during the run"
        if self.pipeline_timeout is not None and elapsed > self.pipeline_timeout:
            return f"pipeline timed out after {self.pipeline_timeout:g} s and was killed"
        return None

    def _publish(self, request: ProcessRequest, tree: ProductsTree) -> None:
        """Copy the products and weblog into the cache and tell the caches and AQUA
        (in one write)."""
        copy_into_cache(tree.path, self.cache_dir)
        copy_into_cache(tree.weblog_path, self.cache_dir)
        cached = {"cachedAt": self.executive}
        products = {"fileType": "productsdir", **cached, "name": tree.products_dir}
        weblog = {"fileType": "weblog", **cached, "name": tree.weblog_path.name}
        messages: list[tuple[str, Any]] = [("cached.JAO", products), ("cached.JAO", weblog)]
        if self.executive != "JAO":
            messages.append((f"cached.{self.executive}", weblog))
        report = base64.b64encode(tree.report_path.read_bytes()).decode("ascii")
        message = {
            "ousUID": request.uid,
            "source": self.executive,
            "report": report,
            "timestamp": tree.timestamp,
            "productsDir": tree.products_dir,
        }
        messages.append(("pipeline.report.JAO", message))
        self.bus.send_many(messages, sender=self.name)

    def _finish(
        self, uid: str, state: State, reason: str, request_id: str, *, run: str | None = None
    ) -> None:
        """Record the run's outcome; an OUS requeued meanwhile (a manual shortcut) is left be."""
        if state is State.PROCESSING_PROBLEM:
            logger.warning("%s: %s: processing problem: %s", self.name, uid, reason)
        client = self.xtss
        if self.stopping.is_set():
            client = XtssClient(self.bus, sender=self.name, timeout=STOP_CALL_TIMEOUT)
        try:
            client.set_state(uid, state, reason=reason, run=run, request=request_id)
        except IllegalTransition as error:
            logger.warning(
                "%s: %s changed during its run; outcome dropped: %s", self.name, uid, error
            )
            return
        logger.info("%s: %s -> %s", self.name, uid, state.value)

    def _run_timestamp(self) -> str:
        """Now, but strictly after any run started in this process (see ``RunClock``)."""
        return self._clock.next()


def _last_actor(entity: Doc) -> str:
    history = entity.get("history") or []
    return str(history[-1].get("actor", "unknown")) if history else "another tool"


def _last_line(text: str, limit: int | None = 500) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


def _tail(text: str, limit: int = 500) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-3:])[-limit:]


def _summary(stdout: str) -> dict[str, Any]:
    try:
        summary = json.loads(_last_line(stdout, None) or "null")
    except ValueError:
        summary = None
    if not isinstance(summary, dict):
        raise PipelineFailed(f"pipeline printed no summary line: {_tail(stdout) or 'no output'}")
    return summary


def _reason(error: BaseException) -> str:
    if isinstance(error, PipelineFailed):
        return str(error)
    return f"{type(error).__name__}: {error}"
