"""The class as one system: the instructor's workflow and each learner's seat on one store.

The instructor runs the workflow once (``host_class``: a Sandbox on the class's
CouchDB, whose AQUA stores reports and finishes deliveries but never decides)
and gives the learners the server's URL. Each learner joins (``join_class``)
with a name: an AQUA QA2 of their own on the same bus, with no XTSS, launcher,
driver or cache, optionally a second pipeline driver. Every learner sees the
same OUSs become ready for review; the XTSS moves each to Reviewing once (a
write by revision), so exactly one learner gets it and the others are told who
has it. ``reviews(store)`` is the instructor's table of who reviewed what, read
from the status entities' history (``drwlab.actors.qa2_reviews``).

Why it is built this way, and what it does not do: ``docs/classroom.md``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from drwlab.actors.aqua_qa2 import AquaQA2
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.qa2_reviews import check_reviewer, reviews_of
from drwlab.bus import MessageBus
from drwlab.sandbox import Sandbox
from drwlab.store import Store, open_store
from drwlab.wire import DEFAULT_FAILURE_RATE, STATUS_DB

logger = logging.getLogger(__name__)

REVIEW_COLUMNS = ("uid", "reviewer", "decision", "started", "decided")
"""The instructor's table: one row per review (an OUS failed and reviewed again has two)."""
REVIEW_HEADERS = {
    "uid": "OUS",
    "reviewer": "Reviewer",
    "decision": "Decision",
    "started": "Review started (UTC)",
    "decided": "Decided (UTC)",
}


def host_class(store: Store | str, **options: Any) -> Sandbox:
    """The instructor's side: every actor of the workflow on the class's ``store``.

    ``options`` are the Sandbox's (``workdir``, ``time_scale``, ``seed``,
    ``executives``, ``host``: the address learners reach the caches on, ...).
    AQUA here never decides (``autopilot`` is refused): the learners do. Returns
    the running Sandbox; ``sb.launch(...)`` puts OUSs in front of the class.
    """
    if options.get("autopilot"):
        raise ValueError("the class decides: host_class runs AQUA without an autopilot")
    sandbox = Sandbox(store, start=False, **options)
    sandbox.autopilot = None  # whatever DRWLAB_AUTOPILOT says: QA2 belongs to the learners
    return sandbox.start()


class Learner:
    """One learner's seat in a class: an AQUA QA2 (and maybe a pipeline driver) on the
    class's store, in threads of this process. Build one with :func:`join_class`.

    ``qa2`` is the review API (``ready_for_review``, ``review``, ``decide``),
    as ``Sandbox.qa2``; a context manager that stops the seat on exit.
    """

    def __init__(
        self,
        store: Store,
        bus: MessageBus,
        qa2: AquaQA2,
        driver: PipelineDriver | None = None,
        *,
        owns_store: bool = False,
    ) -> None:
        self.store = store
        self.bus = bus
        self.qa2 = qa2
        self.driver = driver
        self.reviewer = str(qa2.reviewer)
        self._owns_store = owns_store

    def __repr__(self) -> str:
        return f"Learner({self.reviewer!r}, driver={self.driver is not None}, {self.store!r})"

    @property
    def running(self) -> bool:
        """True until ``stop()``."""
        return self.qa2.is_alive

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the learner's actors and bus (the class carries on); idempotent.

        The driver's work dir (its pipeline runs, a temporary directory) is
        deleted; its products stay in the instructor's cache.
        """
        if self.driver is not None:
            self.driver.stop(timeout)
            shutil.rmtree(self.driver.work_dir, ignore_errors=True)
        self.qa2.stop(timeout)
        self.bus.close()
        if self._owns_store:
            self.store.close()
        logger.info("learner %s left the class", self.reviewer)

    def __enter__(self) -> Learner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def join_class(
    store: Store | str,
    reviewer: str,
    *,
    cache_url: str | None = None,
    driver_cache: Path | None = None,
    executive: str = "EU",
    lease: float = 30.0,
    time_scale: float = 1.0,
    failure_rate: float = DEFAULT_FAILURE_RATE,
    autopilot: str | None = None,
) -> Learner:
    """Join the class on ``store`` (its URL, or an open Store) as reviewer ``reviewer``.

    ``cache_url``: the instructor's JAO cache (``sb.urls["cache.JAO"]``), where
    the weblogs are linked from. ``driver_cache``: also run a pipeline driver at
    ``executive``, competing with the instructor's, writing into this directory,
    which must be the instructor's cache of that executive (the same machine or
    a shared file system: the JAO cache pulls from there); ``failure_rate``: the
    share of that driver's runs that fail (set it as the instructor's sandbox has
    it). ``autopilot``: a QA2
    flag to give every OUS this learner wins (a learner played by a program).

    Raises ValueError for a name that cannot be a reviewer's; what ``open_store``
    raises for a bad URL or an unreachable server.
    """
    reviewer = check_reviewer(reviewer)
    opened = store if isinstance(store, Store) else open_store(store)
    bus = MessageBus(opened, lease=lease)
    qa2 = AquaQA2(
        bus,
        opened,
        cache_dir=None,
        cache_url=cache_url,
        autopilot=autopilot,
        name=f"aqua-qa2.{reviewer}",
        reviewer=reviewer,
    )
    driver = None
    if driver_cache is not None:
        work_dir = Path(tempfile.mkdtemp(prefix=f"drwlab-{reviewer}-"))
        driver = PipelineDriver(
            bus,
            opened,
            executive=executive,
            cache_dir=driver_cache,
            work_dir=work_dir,
            time_scale=time_scale,
            name=f"pipeline-driver.{executive}.{reviewer}",
            failure_rate=failure_rate,
        )
    learner = Learner(opened, bus, qa2, driver, owns_store=opened is not store)
    try:
        qa2.start()
        if driver is not None:
            driver.start()
    except BaseException:
        learner.stop()
        raise
    logger.info("%s joined the class on %s", reviewer, opened.url)
    return learner


def reviews(store: Store) -> pd.DataFrame:
    """Who reviewed what: one row per review (``REVIEW_COLUMNS``), by start time.

    ``decision`` is empty while the review is open.
    """
    rows = [
        {
            "uid": record.uid,
            "reviewer": record.reviewer,
            "decision": record.decision or "",
            "started": record.started,
            "decided": record.decided or "",
        }
        for entity in store.find(STATUS_DB, {}, fields=["entityId", "state", "history"])
        for record in reviews_of(entity)
    ]
    table = pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))
    return table.sort_values(["started", "uid"], ignore_index=True)
