"""Actors written only against drwlab's public API, as a reader of docs/actors.md writes them.

``ShortestQueue`` is a data-reduction assignment actor: where the original's
``dra.py`` asked a person for an OUS and sent it to a fixed executive, it
takes each OUS sent on ``dra.assign`` and sends its processing request to the
executive whose pipeline driver has the fewest OUSs waiting or in processing.
``fail_below`` makes the QA2 rule "fail any run with a stage scored below
this". The tests run them in a sandbox and with ``drwlab run --actor``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from drwlab.actors import (
    Actor,
    Review,
    XtssClient,
    body_dict,
    executive_of,
    process_selector,
    text_field,
)
from drwlab.bus import MessageBus
from drwlab.errors import NotFound
from drwlab.lifecycle import QA2Flag, State
from drwlab.store import Store
from drwlab.uids import check_uid, uid_to_doc_id

logger = logging.getLogger(__name__)

ASSIGN = "dra.assign"
"""Where ``ShortestQueue`` takes OUSs to assign: ``{"progID", "ousUID", "recipe"}``."""
WHAT = "dra.assign request"
QUEUED = (State.READY_FOR_PROCESSING, State.PROCESSING)
"""The states of the OUSs in an executive's queue: sent to it and not yet processed."""


class ShortestQueue(Actor):
    """Sends each OUS on ``dra.assign`` to the executive with the shortest queue (see above).

    A tie goes to the executive named first. The OUS is created (or requeued)
    through the XTSS with that executive, then the processing request goes to
    its pipeline driver. A redelivered request finds its OUS assigned by it
    (the XTSS history names the request) and its processing request sent:
    a duplicate, acknowledged; if the request was not sent, it is sent now.
    """

    def __init__(
        self,
        bus: MessageBus,
        store: Store,
        *,
        executives: Sequence[str] = ("EU", "NA"),
        name: str | None = None,
    ) -> None:
        super().__init__(bus, store, name=name)
        if isinstance(executives, str) or not executives:
            raise ValueError(f"executives must be a list of executives, not {executives!r}")
        self.executives = [str(ex) for ex in executives]
        for executive in self.executives:
            process_selector(executive)  # InvalidMessage for an unknown executive
        self.xtss = XtssClient(bus, sender=self.name)

    def on_start(self) -> None:
        self.listen(ASSIGN, self.handle, full_message=True)

    def handle(self, message: dict[str, Any]) -> None:
        """Assign one OUS: create it on the chosen executive, send its processing request."""
        body = body_dict(message.get("body"), WHAT, ("progID", "ousUID", "recipe"))
        uid = check_uid(body.get("ousUID"))
        request = {
            "progID": text_field(body, "progID", WHAT),
            "ousUID": uid,
            "recipe": text_field(body, "recipe", WHAT),
        }
        reason = f"assigned by request {message['_id']}"
        executive = self.assigned_by(uid, reason)
        if executive is not None and self.request_sent(uid, executive):
            logger.info("%s: %s went to %s (%s): duplicate", self.name, uid, executive, reason)
            return
        if executive is None:
            executive = self.shortest_queue(uid)
            self.xtss.create(uid, request["progID"], request["recipe"], executive, reason=reason)
        self.bus.send(process_selector(executive), request, sender=self.name)
        logger.info("%s: %s -> %s", self.name, uid, executive)

    def queue_lengths(self, but: str | None = None) -> dict[str, int]:
        """How many OUSs (other than ``but``) each executive has waiting or in processing."""
        lengths = dict.fromkeys(self.executives, 0)
        for state in QUEUED:
            for entity in self.xtss.get_ouss_by_state_substate(state):
                executive = executive_of(entity)
                if executive in lengths and entity.get("entityId") != but:
                    lengths[executive] += 1
        return lengths

    def shortest_queue(self, uid: str | None = None) -> str:
        """The executive with the fewest OUSs queued (the first named on a tie)."""
        lengths = self.queue_lengths(but=uid)
        return min(self.executives, key=lambda executive: lengths[executive])

    def assigned_by(self, uid: str, reason: str) -> str | None:
        """The executive ``uid`` was assigned to with ``reason``, if that happened."""
        try:
            entity = self.store.get("status-entities", uid_to_doc_id(uid))
        except NotFound:
            return None
        history = entity.get("history") or []
        if not any(entry.get("reason") == reason for entry in history):
            return None
        return executive_of(entity)

    def request_sent(self, uid: str, executive: str) -> bool:
        """True once ``uid`` left ReadyForProcessing or its request waits for ``executive``."""
        entity = self.store.get("status-entities", uid_to_doc_id(uid))
        if entity.get("state") != State.READY_FOR_PROCESSING.value:
            return True
        waiting = self.bus.unread(process_selector(executive))
        return any((message.get("body") or {}).get("ousUID") == uid for message in waiting)


def fail_below(threshold: float) -> Callable[[Review], QA2Flag]:
    """The QA2 rule: Fail a run with any stage scored below ``threshold``, else Pass."""

    def rule(review: Review) -> QA2Flag:
        low = [score for score in review.report.scores if score.score < threshold]
        return QA2Flag.FAIL if low else QA2Flag.PASS

    return rule
