"""AQUA QA2: keeps the pipeline reports, and lets a reviewer pass, fail or cancel an OUS.

In the background it listens on ``pipeline.report.JAO`` and stores each
report in ``pipeline-reports`` (``{"ousUID", "source", "report" (base64 XML),
"timestamp", "productsDir"}``, one document per pipeline run, so a redelivered
message changes nothing).

In the foreground, the review API is what the terminal UI, the notebook
widgets and the tests all call:

- ``ready_for_review()``: the OUSs in ReadyForReview whose report can be reviewed;
- ``review(uid)``: the OUS goes to Reviewing; returns the report of the run it
  is in (QA scores as data) and where its weblog is (URL and path in the JAO cache);
- ``decide(uid, flag)``: Pass/SemiPass -> Verified, ``ingest.JAO`` is asked to
  ingest the products, then DeliveryInProgress (as the original did); Fail ->
  ReadyForProcessing; Cancel -> ReadyForReview.

Those three steps of a Pass are not one transaction: if the store goes away
after the first, the OUS sits in Verified with nobody to move it on. So AQUA
looks every ``RESUME_CHECK`` s for OUSs that have sat in Verified longer than
``RESUME_AFTER`` s and finishes their delivery (the ingestor is idempotent, so
a request sent twice costs nothing).

Reports are matched by OUS *and* run: the status entity records the pipeline
run it is in (``pipelineRun``, the run's timestamp, set by the pipeline
driver), and every step that reads a report (the review, the panel's list, a
Pass's ingestion, the resumed delivery, the autopilot) reads that run's report
(``run_report``), never an earlier run's. The driver sets ReadyForReview when
it has sent the report, which AQUA may not have stored yet: ``review`` then
waits (at most ``report_wait`` s) for that run's report rather than refusing.
An entity with no recorded run (moved by another tool) falls back to its latest report.

With ``autopilot="Pass"`` (or another flag) every OUS reaching ReadyForReview
is reviewed and decided automatically: demos, benchmarks and CI notebooks. The
autopilot may also be a rule of your own, a function of the ``Review`` returning
the flag (``lambda review: "Fail" if review.report.overall < 0.66 else "Pass"``);
put an AQUA with that rule in place of a sandbox's with ``Sandbox.replace_actor``.

Several AQUAs may share one store (a class: each learner's, ``docs/classroom.md``).
Each one given a ``reviewer`` sends its review and decision requests under that
name, which the XTSS keeps in the history (``qa2_reviews``), and decides only the
OUSs its reviewer has under review. Two reviewers pressing Review on one OUS:
the XTSS moves it to Reviewing once (by revision), and the other is told who
has it. With ``cache_dir=None`` (no JAO cache on this host) weblogs are linked
at ``cache_url`` without looking for the file.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from drwlab.actors.base import Actor, body_dict, text_field
from drwlab.actors.qa2_reviews import check_reviewer, decision_reason, reviewer_of
from drwlab.actors.xtss import RUN_FIELD, XtssClient, check_executive
from drwlab.bus import MessageBus
from drwlab.cachefiles import check_name
from drwlab.errors import (
    Conflict,
    IllegalTransition,
    InvalidMessage,
    NotFound,
    ReviewError,
    UnknownOus,
    UnsafePath,
)
from drwlab.lifecycle import QA2Flag, State
from drwlab.products import (
    PipelineReport,
    check_timestamp,
    parse_report,
    products_dir_name,
    weblog_name,
)
from drwlab.store.base import Doc, Store
from drwlab.store.cursor import ChangeCursor, FeedCandidates
from drwlab.timeutil import filename_timestamp, parse_timestamp, utc_now
from drwlab.uids import check_uid, uid_to_doc_id
from drwlab.wire import REPORTS_DB, STATUS_DB

logger = logging.getLogger(__name__)

REPORT_SELECTOR = "pipeline.report.JAO"
INGEST_SELECTOR = "ingest.JAO"
WEBLOGS = "weblogs"
AUTOPILOT_WAIT = 0.5
"""Longest wait of the autopilot on the status change feed."""
AUTOPILOT_RETRY = 0.1
"""Wait of the autopilot while an OUS's report or weblog is still on its way."""
AUTOPILOT_DECISIONS = 4
"""OUSs the autopilot decides at once: each decision waits on a few XTSS calls, which
on a busy server take long enough that deciding one OUS after another makes a queue."""
RESUME_CHECK = 5.0
"""Seconds between looks for deliveries left half-done (an OUS sitting in Verified)."""
RESUME_AFTER = 10.0
"""Seconds an OUS must have sat in Verified before its delivery is taken up again."""
REPORT_WAIT = 30.0
"""Longest wait of ``review`` for the report of the run an OUS is in (it is on its way)."""


def _seconds_since(entity: Doc, now: datetime) -> float:
    """Seconds since ``entity`` last changed (infinite if its timestamp is unreadable)."""
    try:
        return (now - parse_timestamp(str(entity.get("timestamp")))).total_seconds()
    except ValueError:
        return math.inf


def report_doc_id(uid: str, run_timestamp: str) -> str:
    """``uid___X1_X1_Xb2-2018_07_19T08_50_10.228``: one report document per run."""
    return f"{uid_to_doc_id(uid)}-{filename_timestamp(run_timestamp)}"


def run_report_id(entity: Doc) -> str | None:
    """The id of the report of the pipeline run status entity ``entity`` is in; None if
    it records no run."""
    run = entity.get(RUN_FIELD)
    return report_doc_id(str(entity.get("entityId")), run) if isinstance(run, str) else None


def parse_flag(flag: QA2Flag | str) -> QA2Flag:
    """The QA2Flag named ``flag``, ignoring case (``"pass"``, ``"Semipass"``); else ValueError."""
    if isinstance(flag, QA2Flag):
        return flag
    for known in QA2Flag:
        if isinstance(flag, str) and flag.strip().lower() == known.value.lower():
            return known
    raise ValueError(f"unknown QA2 flag {flag!r}; one of {', '.join(f.value for f in QA2Flag)}")


def decode_report(encoded: object) -> tuple[str, PipelineReport]:
    """The XML text and parsed report of a base64 ``report`` field; InvalidMessage if bad."""
    if not isinstance(encoded, str) or not encoded:
        raise InvalidMessage("field 'report' must be the base64 text of the report XML")
    try:
        xml = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise InvalidMessage(f"field 'report' is not base64 UTF-8 text: {error}") from None
    return xml, parse_report(xml)


def report_doc_from_body(body: Any) -> Doc:
    """Validate a ``pipeline.report.JAO`` body and return the document to store."""
    what = "pipeline report message"
    fields = body_dict(body, what, ("ousUID", "source", "timestamp", "productsDir", "report"))
    uid = check_uid(fields.get("ousUID"))
    source = check_executive(fields.get("source"))
    run_timestamp = check_timestamp(fields.get("timestamp"))
    products_dir = text_field(fields, "productsDir", what)
    _, report = decode_report(fields.get("report"))
    if report.ous_uid != uid:
        raise InvalidMessage(f"{what}: the report is about {report.ous_uid}, not {uid}")
    try:
        check_name(products_dir)
    except UnsafePath as error:
        raise InvalidMessage(f"{what}: UnsafePath: {error}") from None
    expected = products_dir_name(report.prog_id, run_timestamp)
    if products_dir != expected:
        raise InvalidMessage(f"{what}: productsDir {products_dir!r} should be {expected!r}")
    return {
        "_id": report_doc_id(uid, run_timestamp),
        "ousUID": uid,
        "source": source,
        "report": fields["report"],
        "timestamp": run_timestamp,
        "productsDir": products_dir,
    }


@dataclass(frozen=True)
class Review:
    """What a reviewer looks at: the OUS, its latest pipeline report and its weblog."""

    uid: str
    state: str
    report: PipelineReport
    report_xml: str
    weblog_url: str | None
    weblog_path: Path | None
    timestamp: str
    products_dir: str
    source: str


Rule = Callable[[Review], QA2Flag | str]
"""An autopilot of your own: the QA2 flag to give the run a ``Review`` shows."""


class AquaQA2(Actor):
    """AQUA QA2 at JAO (module docstring); ``cache_dir`` is the JAO replicated cache.

    ``autopilot``: None (a person decides), a flag given to every run, or a
    ``Rule`` deciding each run from its review. ``reviewer``: the person whose
    reviews these are (recorded as the ``actor`` of the review's changes);
    ``cache_dir=None``: no JAO cache here, weblogs linked at ``cache_url``.
    """

    def __init__(
        self,
        bus: MessageBus,
        store: Store,
        *,
        cache_dir: Path | None,
        cache_url: str | None = None,
        autopilot: QA2Flag | str | Rule | None = None,
        resume_after: float = RESUME_AFTER,
        report_wait: float = REPORT_WAIT,
        name: str = "aqua-qa2",
        reviewer: str | None = None,
    ) -> None:
        super().__init__(bus, store, name=name)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.reviewer = None if reviewer is None else check_reviewer(reviewer)
        self.cache_url = cache_url
        self.autopilot: QA2Flag | Rule | None = (
            autopilot if autopilot is None or callable(autopilot) else parse_flag(autopilot)
        )
        self.resume_after = resume_after
        self.report_wait = report_wait
        self.xtss = XtssClient(bus, sender=name)
        self._reviews = XtssClient(bus, sender=self.reviewer or name)  # a person's changes
        store.create_db(REPORTS_DB)
        store.ensure_index(REPORTS_DB, ["ousUID"])  # the report of an OUS, asked per review
        # the autopilot's; an OUS already in Reviewing is one whose decision an outage interrupted
        self._reports_held: dict[str, Doc] = {}
        """Reports of the autopilot's OUSs that wait for their weblog, by report id: a
        stored report never changes, so it is read once, not at every step."""
        self._to_decide = FeedCandidates(
            store,
            STATUS_DB,
            lambda: self._in_state(State.READY_FOR_REVIEW) + self._in_state(State.REVIEWING),
            self._autopilot_may_decide,
        )

    def on_start(self) -> None:
        self.listen(REPORT_SELECTOR, self.handle)
        self.loop(self._resume_step, name=f"{self.name}-resume")
        if self.autopilot is not None:
            self.loop(self._autopilot_step, name=f"{self.name}-autopilot")

    def handle(self, body: Any) -> None:
        """Store one pipeline report (a redelivered one is already there: nothing to do)."""
        doc = report_doc_from_body(body)
        try:
            self.store.put(REPORTS_DB, doc)
        except Conflict:
            logger.info("%s: report %s already stored", self.name, doc["_id"])
            return
        logger.info("%s: stored the pipeline report of %s", self.name, doc["ousUID"])

    # -- the review API ----------------------------------------------------------------
    def ready_for_review(self) -> list[Doc]:
        """The status entities in ReadyForReview whose run's report is stored, by uid."""
        ready = self._in_state(State.READY_FOR_REVIEW)
        return [entity for entity in ready if self.run_report(entity) is not None]

    def _in_state(self, state: State) -> list[Doc]:
        found = self.store.find(STATUS_DB, {"state": state.value})
        return sorted(found, key=lambda doc: str(doc.get("entityId")))

    def entity(self, uid: str) -> Doc:
        """The status entity of ``uid``; UnknownOus if there is none."""
        try:
            return self.store.get(STATUS_DB, uid_to_doc_id(check_uid(uid)))
        except NotFound:
            raise UnknownOus(f"no status entity for OUS {uid}") from None

    def latest_report(self, uid: str) -> Doc | None:
        """The stored report of the latest pipeline run of ``uid`` that arrived, if any.

        Not necessarily the run the OUS is in: what a reviewer sees is ``run_report``.
        """
        reports = self.store.find(REPORTS_DB, {"ousUID": check_uid(uid)})
        return max(reports, key=lambda doc: str(doc.get("timestamp")), default=None)

    def run_report(self, entity: Doc) -> Doc | None:
        """The stored report of the pipeline run status entity ``entity`` is in (None: not
        stored yet); for an entity with no recorded run, its latest report."""
        report_id = run_report_id(entity)
        if report_id is None:
            return self.latest_report(str(entity.get("entityId")))
        try:
            return self.store.get(REPORTS_DB, report_id)
        except NotFound:
            return None

    def review(self, uid: str) -> Review:
        """Start reviewing ``uid`` (-> Reviewing) and return what the reviewer needs.

        The report shown is that of the run the OUS is in; if it is still on its
        way, ``review`` waits for it (at most ``report_wait`` s).

        Raises ReviewError if the OUS is not ReadyForReview or its run's report did
        not arrive in time; UnknownOus if there is no such OUS.
        """
        entity = self.entity(uid)
        state = entity.get("state")
        if state != State.READY_FOR_REVIEW.value:
            raise ReviewError(self._not_reviewable(uid, entity))
        stored = self._await_report(entity)
        if stored is None:
            raise ReviewError(
                f"{uid}: the report of its pipeline run {entity.get(RUN_FIELD)} has not "
                f"arrived within {self.report_wait:g} s; try again"
            )
        return self._start_review(uid, stored)[0]

    def _start_review(self, uid: str, stored: Doc) -> tuple[Review, Doc]:
        """Move ``uid`` to Reviewing (the XTSS refuses unless it is ReadyForReview) and
        return the review of run ``stored`` with the entity as the XTSS wrote it."""
        try:
            entity = self._reviews.set_state(uid, State.REVIEWING, reason="QA2 review started")
        except IllegalTransition as error:  # someone else was quicker
            raise ReviewError(self._not_reviewable(uid, self.entity(uid), error)) from None
        return self._review(uid, str(entity.get("state")), stored), entity

    def _not_reviewable(self, uid: str, entity: Doc, error: Exception | None = None) -> str:
        """Why ``uid`` cannot be reviewed, naming who reviews it if someone does."""
        state = entity.get("state")
        who = reviewer_of(entity)
        if who is not None:
            return f"{uid} is already under review by {who}"
        why = f"{uid} is in {state}, not {State.READY_FOR_REVIEW.value}"
        return why if error is None else f"{uid} cannot be reviewed now: {error}"

    def _review(self, uid: str, state: str, stored: Doc) -> Review:
        xml, report = decode_report(stored["report"])
        index = self._weblog_index(uid, stored)
        present = index is not None and index.is_file()
        url = None
        if (present or index is None) and self.cache_url:  # no cache here: link the JAO one
            url = f"{self.cache_url.rstrip('/')}/{self._weblog_path(uid, stored)}"
        return Review(
            uid=uid,
            state=state,
            report=report,
            report_xml=xml,
            weblog_url=url,
            weblog_path=index if present else None,
            timestamp=stored["timestamp"],
            products_dir=stored["productsDir"],
            source=stored["source"],
        )

    @staticmethod
    def _weblog_path(uid: str, stored: Doc) -> str:
        """The expanded weblog of the run ``stored``, relative to the JAO cache."""
        stem = weblog_name(uid, stored["timestamp"]).removesuffix(".zip")
        return f"{WEBLOGS}/{stem}/index.html"

    def _weblog_index(self, uid: str, stored: Doc) -> Path | None:
        """Where the expanded weblog of the run ``stored`` is (or will be) in the JAO cache
        (None: no JAO cache on this host)."""
        if self.cache_dir is None:
            return None
        return self.cache_dir / self._weblog_path(uid, stored)

    def decide(self, uid: str, flag: QA2Flag | str) -> Doc:
        """Record the QA2 decision on an OUS under review; returns the entity afterwards.

        Raises ReviewError naming the OUS and its state when it is not in
        Reviewing; ValueError for an unknown flag.
        """
        return self._decide(uid, parse_flag(flag), self.entity(uid), None)

    def _decide(self, uid: str, decision: QA2Flag, entity: Doc, stored: Doc | None) -> Doc:
        """``decide`` on ``entity``, the OUS as last read or written (the XTSS refuses a
        change it no longer allows), with the report of its run if in hand."""
        state = entity.get("state")
        if state != State.REVIEWING.value:
            raise ReviewError(
                f"{uid} is in {state}, not {State.REVIEWING.value}: review it before deciding"
            )
        who = reviewer_of(entity)
        if self.reviewer is not None and who != self.reviewer:
            raise ReviewError(
                f"{uid} is under review by {who}, not {self.reviewer}: theirs to decide"
            )
        reason = decision_reason(decision)
        try:
            if decision is QA2Flag.FAIL:
                return self._reviews.set_state(uid, State.READY_FOR_PROCESSING, reason=reason)
            if decision is QA2Flag.CANCEL:
                return self._reviews.set_state(uid, State.READY_FOR_REVIEW, reason=reason)
            return self._deliver(uid, reason, stored or self.run_report(entity))
        except IllegalTransition as error:
            raise ReviewError(f"{uid}: {decision.value} refused: {error}") from None

    def _await_report(self, entity: Doc) -> Doc | None:
        """``run_report(entity)``, waiting for it at most ``report_wait`` s."""
        deadline = time.monotonic() + self.report_wait
        feed = ChangeCursor(self.store, REPORTS_DB)
        while True:
            feed.mark()
            stored = self.run_report(entity)
            remaining = deadline - time.monotonic()
            if stored is not None or remaining <= 0 or self.stopping.is_set():
                return stored
            feed.wait(min(remaining, AUTOPILOT_WAIT))

    def _deliver(self, uid: str, reason: str, stored: Doc | None) -> Doc:
        """Verified, then the ingestion of run ``stored`` requested."""
        if stored is None:
            raise ReviewError(f"{uid} has no pipeline report: nothing to ingest")
        self._reviews.set_state(uid, State.VERIFIED, reason=reason)
        entity = self._request_ingestion(uid, stored)
        logger.info("%s: %s verified (%s); delivery in progress", self.name, uid, reason)
        return entity

    def _request_ingestion(self, uid: str, stored: Doc) -> Doc:
        """Ask ``ingest.JAO`` for the products of run ``stored``; -> DeliveryInProgress."""
        request = {
            "ousUID": uid,
            "timestamp": stored["timestamp"],
            "productsDir": stored["productsDir"],
        }
        self.bus.send(INGEST_SELECTOR, request, sender=self.name)
        return self.xtss.set_state(uid, State.DELIVERY_IN_PROGRESS, reason="ingestion requested")

    def _resume_step(self) -> None:
        """Finish the deliveries of OUSs left in Verified (see the module docstring)."""
        if self.stopping.wait(min(RESUME_CHECK, self.resume_after / 2)):
            return
        now = utc_now()
        for entity in self.store.find(STATUS_DB, {"state": State.VERIFIED.value}):
            uid = str(entity.get("entityId"))
            if _seconds_since(entity, now) < self.resume_after:
                continue
            stored = self.run_report(entity)
            if stored is None:
                continue
            try:
                self._request_ingestion(uid, stored)
            except IllegalTransition:
                continue  # moved on meanwhile: someone else finished it
            logger.warning(
                "%s: %s sat in Verified since %s without ingestion; requested it now",
                self.name,
                uid,
                entity.get("timestamp"),
            )

    # -- autopilot ---------------------------------------------------------------------
    def _autopilot_step(self) -> None:
        """Decide every OUS ready for review, then wait for the next changes.

        Like a reviewer, the autopilot waits until the report is stored and the
        weblog is in the JAO cache (which also archives it in NGAS first); OUSs
        still waiting for those are looked at again shortly. The OUSs to decide
        are queried once, then kept up to date from the status entities that
        the change feed brings (not a query per change).
        """
        assert self.autopilot is not None
        to_decide = self._to_decide.current()
        try:
            waiting = self._decide_all(to_decide)
            self._to_decide.follow(AUTOPILOT_RETRY if waiting else AUTOPILOT_WAIT)
        except BaseException:
            self._to_decide.forget()
            raise

    def _decide_all(self, to_decide: dict[str, Doc]) -> bool:
        """Decide each of ``to_decide`` that is ready, up to ``AUTOPILOT_DECISIONS`` at
        once; True if some wait for their report or weblog. An OUS decided leaves
        ``to_decide``; one refused stays, to be tried again at the next step (as a
        person would press again)."""
        waiting = False
        ready: list[tuple[str, str, Doc, Doc]] = []
        held, self._reports_held = self._reports_held, {}
        for doc_id, entity in sorted(to_decide.items()):  # by id, so by uid
            if self.stopping.is_set():
                return waiting
            uid = str(entity.get("entityId"))
            report_id = run_report_id(entity)
            stored = held.get(report_id) if report_id else None
            stored = stored or self.run_report(entity)
            if stored is None or not self._weblog_ready(uid, stored):
                if stored is not None and report_id:
                    self._reports_held[report_id] = stored
                waiting = True
                continue
            ready.append((doc_id, uid, entity, stored))
        if len(ready) <= 1:
            decided = [self._decide_one(*item) for item in ready]
        else:
            with ThreadPoolExecutor(
                max_workers=min(len(ready), AUTOPILOT_DECISIONS),
                thread_name_prefix=f"drwlab-actor-{self.name}-autopilot",
            ) as pool:
                decided = list(pool.map(lambda item: self._decide_one(*item), ready))
        for doc_id in filter(None, decided):
            to_decide.pop(doc_id, None)
        return waiting

    def _decide_one(self, doc_id: str, uid: str, entity: Doc, stored: Doc) -> str | None:
        """Decide one OUS by the autopilot; ``doc_id`` if decided, None if refused."""
        if self.stopping.is_set():
            return None
        try:
            self._decide_automatically(uid, entity, stored)
        except ReviewError as error:
            logger.info("%s autopilot: %s", self.name, error)
            return None
        return doc_id

    def _autopilot_may_decide(self, entity: Doc) -> bool:
        """In ReadyForReview, or in Reviewing under this AQUA's own review (``_may_decide``)."""
        state = entity.get("state")
        if state == State.READY_FOR_REVIEW.value:
            return True
        return state == State.REVIEWING.value and self._may_decide(entity)

    def _may_decide(self, entity: Doc) -> bool:
        """True unless this AQUA has a reviewer and another one has ``entity`` under review."""
        return self.reviewer is None or reviewer_of(entity) == self.reviewer

    def _weblog_ready(self, uid: str, stored: Doc) -> bool:
        """The run's weblog is in the JAO cache here (with no cache here: nothing to wait for)."""
        index = self._weblog_index(uid, stored)
        return index is None or index.is_file()

    def _decide_automatically(self, uid: str, entity: Doc, stored: Doc) -> None:
        """Review ``uid`` (unless under review already) and decide by the autopilot.

        ``entity`` (from the change feed) and ``stored`` (its run's report) are what a
        person's ``review`` and ``decide`` would read again: the autopilot goes by them
        and by what the XTSS answers, and a copy gone stale costs a refused change, which
        the XTSS makes by the entity it holds (on a server, four reads fewer per OUS).
        """
        assert self.autopilot is not None
        if entity.get("state") == State.READY_FOR_REVIEW.value:
            review, entity = self._start_review(uid, stored)
        else:
            review = self._review(uid, str(entity.get("state")), stored)
        flag = parse_flag(self.autopilot(review) if callable(self.autopilot) else self.autopilot)
        self._decide(uid, flag, entity, stored)
        logger.info("%s autopilot: %s %s", self.name, uid, flag.value)
