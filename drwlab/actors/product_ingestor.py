"""The product ingestor at JAO: archives a verified OUS's data products in NGAS.

It listens on ``ingest.JAO`` for ``{"ousUID", "timestamp", "productsDir"}``
(sent by AQUA QA2 on Pass/SemiPass) and, reading the products from the JAO
replicating cache, walks the delivery substates IngestionTriggered ->
AnalyzingProducts -> IngestingProducts -> ProductsIngested. For each data
product it puts the file in NGAS, writes its ``products-metadata`` record and
adds it to the OUS's ``delivery-status`` document; at the end the delivery
status is marked ``complete``.

Everything it writes has a deterministic id and is checked before it is
written, so a redelivered message finishes the job without duplicates; one
whose products are all ingested already is a duplicate: acknowledged and
logged, nothing redone. The delivery status is one document per OUS under the
encoded uid (``uid___X1_X1_Xc1``), where the original's data tracker reads it;
a delivery of a later run starts it afresh. An ingestion request for a run
other than the one the OUS is in (``pipelineRun``) is refused, so an OUS is
never ingested from two runs. AQUA
asks for ingestion before it sets DeliveryInProgress, and the products may
still be on their way from another cache: the ingestor waits (a bounded
time) for both, then leaves the message to the bus's retries.

It ingests up to ``WORKERS`` OUSs at once: that many listeners compete on
``ingest.JAO`` (each message still goes to one of them), so an OUS whose
products are still on their way, or a slow store, does not hold up the others.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drwlab.actors.base import Actor, body_dict, text_field
from drwlab.actors.xtss import RUN_FIELD, XtssClient
from drwlab.bus import MessageBus
from drwlab.cachefiles import check_inside
from drwlab.errors import (
    CacheError,
    Conflict,
    DrwlabError,
    IllegalTransition,
    InvalidMessage,
    NotFound,
    PipelineFailed,
    UnknownOus,
    UnsafePath,
)
from drwlab.lifecycle import SUBSTATE_ORDER, State, Substate
from drwlab.ngas import Ngas
from drwlab.products import ProductsTree, check_timestamp
from drwlab.store.base import Doc, Store
from drwlab.store.cursor import ChangeCursor
from drwlab.timeutil import filename_timestamp
from drwlab.uids import check_uid, uid_to_doc_id
from drwlab.wire import DELIVERY_DB, METADATA_DB, STATUS_DB

logger = logging.getLogger(__name__)

SELECTOR = "ingest.JAO"
WORKERS = 3
"""OUSs ingested at once (competing listeners on ``ingest.JAO``)."""
PRODUCT_DELAY = 2.0
"""Simulated seconds to ingest one product (times ``time_scale``)."""
POLL = 0.1
"""How often the cache is looked at while waiting for replicated products."""
UPDATE_ATTEMPTS = 50


def delivery_status_id(uid: str) -> str:
    """``uid___X1_X1_Xc1``: one delivery status per OUS, where the original keeps it."""
    return uid_to_doc_id(uid)


@dataclass(frozen=True)
class IngestRequest:
    """A validated ``ingest.JAO`` body; ``prog_id`` is read off the products dir's name."""

    uid: str
    timestamp: str
    products_dir: str
    prog_id: str

    @classmethod
    def from_body(cls, body: Any) -> IngestRequest:
        """Validate ``body``; InvalidMessage (or InvalidUid) names what is wrong."""
        what = "ingest request"
        fields = body_dict(body, what, ("ousUID", "timestamp", "productsDir"))
        uid = check_uid(fields.get("ousUID"))
        run_timestamp = check_timestamp(fields.get("timestamp"))
        products_dir = text_field(fields, "productsDir", what)
        suffix = "_" + filename_timestamp(run_timestamp)
        if not products_dir.endswith(suffix) or len(products_dir) == len(suffix):
            raise InvalidMessage(
                f"{what}: productsDir {products_dir!r} does not end with the run's {suffix!r}"
            )
        request = cls(uid, run_timestamp, products_dir, products_dir[: -len(suffix)])
        request.tree(Path("."))  # checks the project code, so the tree stays in the cache
        return request

    def tree(self, cache_dir: Path) -> ProductsTree:
        """The products tree of the request inside ``cache_dir``."""
        return ProductsTree(cache_dir, self.prog_id, self.uid, self.timestamp)


class ProductIngestor(Actor):
    """Ingests the products of verified OUSs from the JAO cache ``cache_dir`` (module docstring).

    ``wait_timeout`` bounds how long one delivery waits for the OUS to reach
    DeliveryInProgress and for its products to be replicated.
    """

    def __init__(
        self,
        bus: MessageBus,
        store: Store,
        *,
        cache_dir: Path,
        time_scale: float = 1.0,
        wait_timeout: float = 30.0,
        name: str = "product-ingestor",
    ) -> None:
        super().__init__(bus, store, name=name)
        self.cache_dir = Path(cache_dir)
        self.time_scale = time_scale
        self.wait_timeout = wait_timeout
        self.xtss = XtssClient(bus, sender=name)
        self.ngas = Ngas(store)
        for db in (METADATA_DB, DELIVERY_DB):
            store.create_db(db)
        store.ensure_index(DELIVERY_DB, ["ousUID"])

    def on_start(self) -> None:
        for _ in range(WORKERS):
            self.listen(SELECTOR, self.handle)

    def handle(self, body: Any) -> None:
        """Ingest one OUS's products, walking its substates (idempotent)."""
        request = IngestRequest.from_body(body)
        entity = self._wait_for_delivery(request.uid)
        if entity is None or self._already_ingested(request, entity):
            return
        substate = self._advance(request.uid, entity.get("substate"), Substate.INGESTION_TRIGGERED)
        tree = request.tree(self.cache_dir)
        self._wait_for_products(tree)
        self._refuse_links(tree)
        substate = self._advance(request.uid, substate, Substate.ANALYZING_PRODUCTS)
        status = self._open_delivery_status(request)
        substate = self._advance(request.uid, substate, Substate.INGESTING_PRODUCTS)
        for path in tree.data_product_paths:
            status = self._ingest(request, path, status)
            if self.stopping.wait(PRODUCT_DELAY * self.time_scale):
                raise DrwlabError(f"ingestion of {request.uid} interrupted: the ingestor stopped")
        self._update_status(status, lambda doc: doc.update(complete=True))
        self._advance(request.uid, substate, Substate.PRODUCTS_INGESTED)
        logger.info(
            "%s: %s: %d products ingested", self.name, request.uid, len(tree.data_product_paths)
        )

    # -- steps ------------------------------------------------------------------------
    def _wait_for_delivery(self, uid: str) -> Doc | None:
        """The entity once in DeliveryInProgress; None if already Delivered (nothing to do)."""
        deadline = time.monotonic() + self.wait_timeout
        status_feed = ChangeCursor(self.store, STATUS_DB)
        while True:
            status_feed.mark()
            try:
                entity = self.store.get(STATUS_DB, uid_to_doc_id(uid))
            except NotFound:
                raise InvalidMessage(f"cannot ingest {uid}: no such OUS") from None
            state = entity.get("state")
            if state == State.DELIVERY_IN_PROGRESS.value:
                return entity
            if state == State.DELIVERED.value:
                logger.info("%s: %s is already delivered; nothing to do", self.name, uid)
                return None
            if state != State.VERIFIED.value:
                raise InvalidMessage(f"cannot ingest {uid}: it is in {state}, not verified")
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.stopping.is_set():
                raise IllegalTransition(
                    f"{uid} is still {state} after {self.wait_timeout:g} s; "
                    f"ingestion needs {State.DELIVERY_IN_PROGRESS.value}"
                )
            status_feed.wait(min(remaining, 0.5))

    def _already_ingested(self, request: IngestRequest, entity: Doc) -> bool:
        """True if ``request`` was carried out before (a redelivery): nothing to redo.

        InvalidMessage if it asks for a run other than the OUS's own.
        """
        run = entity.get(RUN_FIELD)
        if run is not None and run != request.timestamp:
            raise InvalidMessage(
                f"cannot ingest {request.uid} from run {request.timestamp}: the OUS is in run {run}"
            )
        if entity.get("substate") != Substate.PRODUCTS_INGESTED.value:
            return False
        try:
            status = self.store.get(DELIVERY_DB, delivery_status_id(request.uid))
        except NotFound:
            return False
        if status.get("timestamp") == request.timestamp and status.get("complete") is True:
            logger.info(
                "%s: %s: the products of run %s are ingested already; duplicate request",
                self.name,
                request.uid,
                request.timestamp,
            )
            return True
        return False

    def _wait_for_products(self, tree: ProductsTree) -> None:
        """Return once the whole tree is in the cache; CacheError (retried) after the wait."""
        deadline = time.monotonic() + self.wait_timeout
        while True:
            try:
                tree.check()
                return
            except PipelineFailed as error:
                if time.monotonic() >= deadline or self.stopping.wait(POLL):
                    raise CacheError(
                        f"products of {tree.uid} not (fully) replicated into the JAO cache "
                        f"{self.cache_dir} yet: {error}"
                    ) from None

    def _refuse_links(self, tree: ProductsTree) -> None:
        """InvalidMessage if a file of ``tree`` is a link or leads outside the cache
        (a file from elsewhere must never be archived in NGAS)."""
        refused = []
        for path in tree.all_files:
            try:
                check_inside(path, self.cache_dir)
            except UnsafePath as error:
                refused.append(str(error))
        if refused:
            raise InvalidMessage(f"products of {tree.uid}: UnsafePath: {'; '.join(refused)}")

    def _advance(self, uid: str, current: str | None, target: Substate) -> str:
        """Move the substate forward to ``target`` unless it is there or beyond already."""
        if current is not None and SUBSTATE_ORDER[Substate(current)] >= SUBSTATE_ORDER[target]:
            return current
        try:
            self.xtss.set_substate(uid, target)
        except UnknownOus:
            raise InvalidMessage(f"cannot ingest {uid}: no such OUS") from None
        return target.value

    def _open_delivery_status(self, request: IngestRequest) -> Doc:
        """Start the OUS's delivery status for this run, or resume the one started;
        return it as written."""
        status_id = delivery_status_id(request.uid)
        fresh = {
            "ousUID": request.uid,
            "progID": request.prog_id,
            "timestamp": request.timestamp,
            "productsDir": request.products_dir,
            "dataProducts": [],
            "complete": False,
        }
        try:
            return self.store.put(DELIVERY_DB, {"_id": status_id, **fresh})
        except Conflict:
            pass

        def start_or_resume(doc: Doc) -> None:
            if doc.get("timestamp") != request.timestamp:  # an earlier delivery's: start afresh
                doc.update(fresh)

        status = self._update_status(self.store.get(DELIVERY_DB, status_id), start_or_resume)
        logger.info("%s: delivery status %s exists; resuming", self.name, status_id)
        return status

    def _ingest(self, request: IngestRequest, path: Path, status: Doc) -> Doc:
        """Archive one product, record its metadata, add it to the delivery ``status``;
        return the status as written."""
        self.ngas.put_file(path, ous_uid=request.uid)
        metadata = {
            "_id": path.name,
            "productID": path.name,
            "ousUID": request.uid,
            "progID": request.prog_id,
            "timestamp": request.timestamp,
        }
        with contextlib.suppress(Conflict):  # recorded by an earlier delivery of this message
            self.store.put(METADATA_DB, metadata)

        def add(doc: Doc) -> None:
            if path.name not in doc["dataProducts"]:
                doc["dataProducts"] = [*doc["dataProducts"], path.name]

        return self._update_status(status, add)

    def _update_status(self, status: Doc, change: Callable[[Doc], object]) -> Doc:
        """Apply ``change`` to the delivery status and write it; return it as written.

        It starts from ``status`` as this ingestor last wrote or read it, without
        reading it again: the write carries that revision, so it succeeds only if
        the copy was current; on a conflict the change is made again on a fresh read.
        """
        doc = copy.deepcopy(status)
        for _ in range(UPDATE_ATTEMPTS):
            change(doc)
            try:
                return self.store.put(DELIVERY_DB, doc)
            except Conflict:
                doc = copy.deepcopy(self.store.get(DELIVERY_DB, status["_id"]))
        raise Conflict(f"delivery status {status['_id']} kept changing; gave up")
