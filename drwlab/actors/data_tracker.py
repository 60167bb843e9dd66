"""The data tracker: declares an OUS Delivered once all its ingested products are in NGAS.

It looks for OUSs in DeliveryInProgress with substate ProductsIngested, reads
their (complete) delivery status (one per OUS, under the encoded uid), and
checks that every data product listed there is in NGAS; then the OUS becomes
Delivered and its executive and substate are cleared (through the XTSS;
``set-state`` leaves a substate alone, so drwlab's request asks to clear it in
the same write, where the original's data tracker sends ``set-substate ""``
after). Unlike the original's endless
polling loop, it wakes on changes of ``status-entities`` and stops at once.

It queries the status entities once, when it starts (and again after an
error); from then on it reacts to the changed entities the feed brings with
it, instead of a query per change (on a server the costliest request). An
OUS it could not deliver yet (a product not in NGAS) stays a candidate and is
checked again at each change, as before.
"""

from __future__ import annotations

import logging

from drwlab.actors.base import Actor
from drwlab.actors.product_ingestor import delivery_status_id
from drwlab.actors.xtss import XtssClient
from drwlab.bus import MessageBus
from drwlab.errors import IllegalTransition, NotFound, UnknownOus
from drwlab.lifecycle import State, Substate
from drwlab.ngas import Ngas
from drwlab.store.base import Doc, Store
from drwlab.store.cursor import FeedCandidates
from drwlab.wire import DELIVERY_DB, STATUS_DB

logger = logging.getLogger(__name__)

WAIT = 0.5
"""Longest single wait on the change feed (bounds how late the loop sees it must stop)."""
CHECK_DELAY = 1.0
"""Simulated seconds to check an OUS's products at the ARC (times ``time_scale``)."""


_CANDIDATE = {
    "state": State.DELIVERY_IN_PROGRESS.value,
    "substate": Substate.PRODUCTS_INGESTED.value,
}
"""The status entities the tracker looks at (a Mango selector of equalities)."""


def _is_candidate(entity: Doc) -> bool:
    """True if ``entity`` matches ``_CANDIDATE``."""
    return all(entity.get(field) == value for field, value in _CANDIDATE.items())


class DataTracker(Actor):
    """Moves fully ingested OUSs to Delivered (module docstring)."""

    def __init__(
        self,
        bus: MessageBus,
        store: Store,
        *,
        time_scale: float = 1.0,
        name: str = "data-tracker",
    ) -> None:
        super().__init__(bus, store, name=name)
        self.time_scale = time_scale
        self.xtss = XtssClient(bus, sender=name)
        self.ngas = Ngas(store)
        for db in (STATUS_DB, DELIVERY_DB):
            store.create_db(db)
        store.ensure_index(STATUS_DB, ["state", "substate"])
        self._candidates = FeedCandidates(store, STATUS_DB, self.candidates, _is_candidate)

    def on_start(self) -> None:
        self.loop(self._step)

    def _step(self) -> None:
        """Check every candidate, then wait for the next changes of the status entities."""
        candidates = self._candidates.current()
        try:
            for doc_id, entity in list(candidates.items()):
                if self.stopping.is_set():
                    return
                if self.handle(entity):
                    candidates.pop(doc_id, None)
            self._candidates.follow(WAIT)
        except BaseException:
            self._candidates.forget()
            raise

    def candidates(self) -> list[Doc]:
        """OUSs in DeliveryInProgress whose products are ingested."""
        return self.store.find(STATUS_DB, _CANDIDATE)

    def handle(self, entity: Doc) -> bool:
        """Deliver one OUS if all its products are in NGAS; True if it was delivered."""
        uid = str(entity.get("entityId"))
        products = self.delivered_products(uid)
        if products is None:
            logger.debug("%s: %s has no complete delivery status yet", self.name, uid)
            return False
        missing = self.ngas.missing(products)
        if missing:
            logger.info("%s: %s: not yet in NGAS: %s", self.name, uid, ", ".join(missing))
            return False
        if self.stopping.wait(CHECK_DELAY * self.time_scale):
            return False
        try:
            self.xtss.clear_exec(uid)  # first, so whoever sees Delivered sees the final entity
            self.xtss.set_state(
                uid,
                State.DELIVERED,
                reason=f"{len(products)} products in NGAS",
                clear_substate=True,
            )
        except (IllegalTransition, UnknownOus) as error:
            logger.info("%s: %s not delivered: %s", self.name, uid, error)  # someone else did
            return False
        logger.info("%s: %s delivered", self.name, uid)
        return True

    def delivered_products(self, uid: str) -> list[str] | None:
        """The products of the complete delivery status of ``uid`` (None: none yet)."""
        try:
            status = self.store.get(DELIVERY_DB, delivery_status_id(uid))
        except NotFound:
            return None
        if status.get("complete") is not True:
            return None
        return [str(name) for name in status.get("dataProducts") or []]
