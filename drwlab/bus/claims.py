"""The writes that move a message through its states, each carrying the revision it read.

::

    pending (consumed=false) --claim--> claimed --handler returned--> done
        ^                                  |
        +-- handler raised, attempts left -+-- no attempts left, or InvalidMessage --> dead
        +-- lease expired (listener died) -+                                            |
        +-- given back unstarted (stop) ---+                                            |
        +-- requeued by a person, attempts from zero (MessageBus.requeue) --------------+

Every failure also appends its ``errorDetail`` to the message's ``errorHistory``
(the newest MAX_HISTORY), so a message retried, expired or re-queued keeps
the story of what went wrong, not only the last error.

A write with a stale revision raises Conflict (or fails alone in a bulk
write): someone else moved the message first, and the loser leaves it alone.
That is the whole of the exactly-one-listener guarantee.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from drwlab.bus.message import (
    CLAIMED,
    DB,
    DEAD,
    DONE,
    LEASE_INDEX,
    PENDING,
    error_fields,
    failure_fields,
)
from drwlab.errors import Conflict, InvalidMessage
from drwlab.store.base import Doc, Store
from drwlab.timeutil import timestamp

logger = logging.getLogger(__name__)

MAX_HISTORY = 20
"""Most failures kept in a message's ``errorHistory`` (the newest)."""


def write_all(store: Store, docs: Sequence[Doc]) -> list[Doc | None]:
    """Write ``docs`` (one request for several); each written copy, or None on conflict."""
    if len(docs) == 1:
        try:
            return [store.put(DB, docs[0])]
        except Conflict:
            return [None]
    results = store.bulk_put(DB, docs) if docs else []
    return [
        dict(doc, _rev=result.rev) if result.error is None and result.rev else None
        for doc, result in zip(docs, results, strict=True)
    ]


def claim(store: Store, docs: Sequence[Doc], identity: str, lease: float) -> list[Doc]:
    """Claim pending ``docs`` for ``identity``; return those won, in order."""
    claims = []
    for doc in docs:
        wanted = dict(doc)
        wanted.pop("notBefore", None)
        wanted.update(
            consumed=True,
            state=CLAIMED,
            claimedBy=identity,
            claimedTimestamp=timestamp(),
            leaseExpires=time.time() + lease,
            attempts=int(doc.get("attempts") or 0) + 1,
        )
        claims.append(wanted)
    return [doc for doc in write_all(store, claims) if doc is not None]


class Acknowledged(NamedTuple):
    """What one acknowledging write wrote."""

    done: list[Doc]
    """The messages marked done."""
    sent: list[Doc]
    """The messages sent with them (``send``), as written."""


def acknowledge(
    store: Store, docs: Sequence[Doc], identity: str, *, send: Sequence[Doc] = ()
) -> Acknowledged:
    """Mark claimed ``docs`` done (their handler returned) and write ``send`` in the same write.

    ``send``: new messages the handlers left to go with their acknowledgement
    (an RPC server's replies). Each is written whatever becomes of the
    acknowledgements: a reply to a message taken over meanwhile is still an answer.
    """
    done = [dict(doc, state=DONE, handledBy=identity, handledTimestamp=timestamp()) for doc in docs]
    written = write_all(store, [*done, *send])
    acknowledged = []
    for doc, copy in zip(done, written, strict=False):
        if copy is None:
            logger.warning(
                "message %s was taken over before its acknowledgement (lease expired); "
                "it may be handled twice",
                doc["_id"],
            )
        else:
            acknowledged.append(copy)
    sent = []
    for doc, copy in zip(send, written[len(done) :], strict=True):
        if copy is None:  # its id is new: an earlier attempt wrote it before the store failed
            logger.info("message %s was already sent", doc.get("_id"))
        else:
            sent.append(copy)
    return Acknowledged(acknowledged, sent)


def give_back(store: Store, docs: Sequence[Doc]) -> None:
    """Return claimed but unstarted ``docs`` to the queue (the listener is stopping)."""
    back = [
        dict(doc, consumed=False, state=PENDING, attempts=max(0, int(doc["attempts"]) - 1))
        for doc in docs
    ]
    write_all(store, back)  # a conflict means someone took it over: fine either way


def fail(
    store: Store, doc: Doc, error: Exception, *, max_attempts: int, retry_delay: float
) -> bool:
    """Record ``error`` on claimed ``doc``: retry later, or dead-letter. True if dead."""
    attempts = int(doc.get("attempts") or 1)
    dead = isinstance(error, InvalidMessage) or attempts >= max_attempts
    update = _with_history(doc, error_fields(error, attempts))
    if dead:
        update.update(state=DEAD, deadTimestamp=timestamp())
    else:
        delay = retry_delay * 2 ** (attempts - 1)
        update.update(consumed=False, state=PENDING, notBefore=time.time() + delay)
    if write_all(store, [dict(doc, **update)])[0] is None:
        logger.warning("message %s was taken over while its handler failed", doc["_id"])
    return dead


def reject(store: Store, doc: Doc, why: str) -> bool:
    """Dead-letter pending ``doc`` unhandled (its bookkeeping is malformed). True if written."""
    update = _with_history(doc, failure_fields("InvalidMessage", why, None))
    update.update(consumed=True, state=DEAD, deadTimestamp=timestamp())
    return write_all(store, [dict(doc, **update)])[0] is not None


class Recovery(NamedTuple):
    """What one look for expired claims did."""

    recovered: int
    """Claims returned to the queue or dead-lettered."""
    full_page: bool
    """The look read ``limit`` claims: more may be waiting."""


def recover_expired(
    store: Store, selector: str, *, skip: set[str], max_attempts: int, limit: int
) -> Recovery:
    """Return claims of ``selector`` whose lease ran out to the queue (or dead-letter them).

    ``skip``: ids whose handler runs in this process (their lease is being renewed).
    """
    expired = store.find(
        DB,
        {"selector": selector, "state": CLAIMED, "leaseExpires": {"$lt": time.time()}},
        sort=[{field: "asc"} for field in LEASE_INDEX],
        limit=limit,
    )
    recovered = 0
    for doc in expired:
        if doc["_id"] in skip:
            continue
        attempts = int(doc.get("attempts") or 1)
        why = f"{doc.get('claimedBy')} did not finish within its lease"
        update = _with_history(doc, failure_fields("LeaseExpired", why, attempts))
        if attempts >= max_attempts:
            update.update(state=DEAD, deadTimestamp=timestamp())
        else:
            update.update(consumed=False, state=PENDING)
        if write_all(store, [dict(doc, **update)])[0] is not None:
            logger.warning("message %s: %s", doc["_id"], why)
            recovered += 1
    return Recovery(recovered, full_page=len(expired) == limit)


def requeued(doc: Doc, by: str) -> Doc:
    """Dead letter ``doc`` back in the queue as if new: pending, no attempts spent.

    Its last ``error`` and its ``errorHistory`` stay, so the message still tells
    what happened to it; ``requeues`` notes who put it back and when.
    """
    if doc.get("state") != DEAD:
        raise InvalidMessage(
            f"message {doc.get('_id')} is {doc.get('state') or 'of no state'}, not dead: "
            "only dead letters are re-queued"
        )
    back = {key: value for key, value in doc.items() if key not in _CLAIM_FIELDS}
    back.update(
        consumed=False,
        state=PENDING,
        attempts=0,
        requeues=[*_list(doc.get("requeues")), {"by": by, "timestamp": timestamp()}],
    )
    return back


_CLAIM_FIELDS = frozenset(
    {"claimedBy", "claimedTimestamp", "leaseExpires", "notBefore", "deadTimestamp", "handledBy"}
)
"""What a dead letter carries of its last delivery, dropped when it is re-queued."""


def _with_history(doc: Doc, update: dict[str, Any]) -> dict[str, Any]:
    """``update`` (a failure's fields) plus ``doc``'s ``errorHistory`` with this failure."""
    history = [*_list(doc.get("errorHistory")), update["errorDetail"]]
    return dict(update, errorHistory=history[-MAX_HISTORY:])


def _list(value: object) -> list[Any]:
    """``value`` if it is a list (a field another tool may have written wrong), else empty."""
    return list(value) if isinstance(value, list) else []
