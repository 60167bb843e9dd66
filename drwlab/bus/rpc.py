"""RPC over the bus, as the original's Executor/ExecutorClient: requests carry a ``msgbackID``.

``call`` sends the request with a fresh reply selector (``msgback.<uuid>``) and
waits for the one message that comes back on it. ``serve`` builds the
listener's processing step: run the service on the request body and send the
reply to the request's ``msgbackID``, in the same write as the request's
acknowledgement. A service that raises answers with its
error (the request is then done: the caller has the error); only a request
with nothing to reply to is dead-lettered.

A reply is taken (``consumed``) by its caller, as the original's client takes it.
drwlab's client reads its reply from the change feed and names itself in the
request (``replyTakenBy``), so the server writes the reply already taken in the
caller's name: one write fewer per call, and the caller answered as soon as the
feed brings the reply. A reply left pending (the original's Executor ignores the
field) the caller takes itself, by revision.

A reply's ``body`` is what the original's Executor would have sent: the
service's bare value (the XTSS answers ``201``, or a list, as the original's
did), because the original's clients read the body and nothing else. What
drwlab's own client needs beyond it travels beside the body, in ``outcome``::

    {"body": 201, "outcome": {"result": {...the entity after the change...}}}
    {"body": "IllegalTransition: ...", "outcome": {"error": {"type": ..., "message": ...}}}
    {"body": [...]}                       # no outcome: the result is the body

A reply with no ``outcome`` (one the original's Executor sent) gives its body as result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from drwlab import errors
from drwlab.bus.inbox import Inbox
from drwlab.bus.listener import Process, SendWithAck
from drwlab.bus.message import (
    DB,
    DEAD,
    DONE,
    REPLY_TAKEN_BY,
    failure_fields,
    new_message,
    validate_body,
    validate_selector,
)
from drwlab.bus.watcher import ChangeWatcher
from drwlab.errors import (
    Conflict,
    DrwlabError,
    InvalidMessage,
    NotFound,
    RpcError,
    RpcTimeout,
    StoreError,
    StoreUnavailable,
)
from drwlab.store.base import Doc, Store
from drwlab.timeutil import timestamp

logger = logging.getLogger(__name__)

Service = Callable[[Any], Any]
Put = Callable[[Doc], str]

OUTCOME = "outcome"
"""The reply field drwlab's client reads (the original's clients read only ``body``)."""


@dataclass(frozen=True)
class Answer:
    """A service's answer when the wire body is not the whole of it.

    ``body`` goes to every caller (what the original's service answered);
    ``result`` is what drwlab's client returns, or ``error`` what it raises.
    A service returning anything else answers that value as body and result.
    """

    body: Any
    result: Any = None
    error: Exception | None = None


def serving(service: Service, *, sender: str | None = None) -> Process:
    """The processing step of an RPC server: answer each request on its ``msgbackID``.

    The reply is sent with the request's acknowledgement, in one write (``SendWithAck``).
    """

    def process(doc: Doc) -> SendWithAck:
        reply_to = doc.get("msgbackID")
        if reply_to is None:
            raise InvalidMessage("an RPC request needs a msgbackID to send the reply to")
        validate_selector(reply_to)
        fields = reply_fields(service, doc.get("body"))
        reply = new_message(reply_to, fields.pop("body"), sender=sender)
        taker = doc.get(REPLY_TAKEN_BY)
        if isinstance(taker, str) and taker:  # the caller reads it from the feed
            reply.update(taken(taker))
        return SendWithAck([dict(reply, **fields)])

    return process


def taken(identity: str) -> dict[str, Any]:
    """The fields that mark a reply taken by the caller ``identity``."""
    return {"consumed": True, "state": DONE, "handledBy": identity, "handledTimestamp": timestamp()}


def reply_fields(service: Service, request: Any) -> dict[str, Any]:
    """``body`` (and ``outcome``) of the reply to ``request``: the service's answer or error."""
    try:
        answer = service(request)
    except StoreUnavailable:
        raise  # the store is down, not the request wrong: leave it to be retried
    except Exception as error:
        answer = Answer(f"{type(error).__name__}: {error}", error=error)
    if not isinstance(answer, Answer):
        answer = Answer(answer, answer)
    fields = _fields(answer)
    try:
        validate_body(fields)
    except InvalidMessage as error:
        refusal = InvalidMessage(f"the service's reply: {error}")
        return _fields(Answer(f"InvalidMessage: {refusal}", error=refusal))
    return fields


def _fields(answer: Answer) -> dict[str, Any]:
    error = answer.error
    if error is not None:
        if isinstance(error, DrwlabError):
            logger.info("RPC service refused a request: %s: %s", type(error).__name__, error)
        else:
            logger.warning("RPC service failed", exc_info=error)
        outcome = {"error": {"type": type(error).__name__, "message": str(error)}}
        return {"body": answer.body, OUTCOME: outcome}
    if answer.result is answer.body:
        return {"body": answer.body}
    return {"body": answer.body, OUTCOME: {"result": answer.result}}


def call(
    store: Store,
    watcher: ChangeWatcher,
    send: Put,
    request: Doc,
    *,
    timeout: float,
    identity: str,
) -> Doc:
    """Send the prepared ``request`` message and return its reply document.

    ``decode_reply`` makes the reply a result (or raises its error).

    Raises
    ------
    RpcTimeout
        No reply within ``timeout`` s; the request is withdrawn if still unclaimed.
    """
    wake = threading.Event()
    inbox = Inbox(complete=True)  # subscribed before sending: no reply can be missed
    watcher.subscribe(wake, request["msgbackID"], inbox, taken_too=True)
    try:
        request_id = send(request)
        deadline = time.monotonic() + timeout
        # the reply cannot be there before the watcher sees it land: wait, then look
        while wake.wait(max(0.0, deadline - time.monotonic())):
            watcher.rearm(wake)
            reply = _take_reply(store, request["msgbackID"], identity, inbox.take())
            if reply is not None:
                return reply
    finally:
        watcher.unsubscribe(wake, linger=True)
    _withdraw(store, request_id, timeout)
    raise RpcTimeout(f"no reply from {request['selector']!r} within {timeout:g} s")


def _take_reply(store: Store, msgback_id: str, identity: str, seen: list[Doc] | None) -> Doc | None:
    """The reply on ``msgback_id``, taken (None: not there yet).

    ``seen``: the replies the watcher saw land, or None if it cannot tell (then
    the store is asked). A reply the server wrote taken for us is returned as it
    is; a pending one (from the original's Executor) is marked consumed first.
    """
    asked = seen is None
    if seen is None:
        seen = store.find(DB, {"selector": msgback_id}, limit=1)  # one reply per msgbackID
    for doc in seen[:1]:
        if doc.get("consumed") is not False:
            return doc  # written taken in our name
        try:
            with store.announced_later():  # a reply taken gives nobody work
                return store.put(DB, dict(doc, **taken(identity)))
        except Conflict:
            # nobody else should read our replies: what the feed showed was stale
            return None if asked else _take_reply(store, msgback_id, identity, None)
    return None


def _withdraw(store: Store, request_id: str, timeout: float) -> None:
    """Dead-letter an unanswered request nobody has claimed, so it is not run after all."""
    try:
        doc = store.get(DB, request_id)
        if doc.get("consumed"):
            return
        why = f"the caller stopped waiting after {timeout:g} s"
        store.put(
            DB, dict(doc, consumed=True, state=DEAD, **failure_fields("RpcTimeout", why, None))
        )
    except (Conflict, NotFound):
        return  # a server took it meanwhile
    except StoreUnavailable as failure:  # the outage itself is logged by the loops
        logger.info("timed-out request %s may still be answered later: %s", request_id, failure)
    except StoreError as failure:
        logger.warning("could not withdraw timed-out request %s: %s", request_id, failure)


def decode_reply(reply: Mapping[str, Any], selector: str) -> Any:
    """The result of reply document ``reply``, or raise the error it carries.

    Raises
    ------
    DrwlabError subclass
        The service raised that drwlab error (e.g. IllegalTransition).
    RpcError
        The service raised any other error, or the outcome is malformed.
    """
    if OUTCOME not in reply:
        return reply.get("body")  # a reply as the original's Executor sends it
    outcome = reply[OUTCOME]
    if isinstance(outcome, dict) and "result" in outcome:
        return outcome["result"]
    if isinstance(outcome, dict) and isinstance(outcome.get("error"), dict):
        error = outcome["error"]
        _raise_remote(str(error.get("type")), str(error.get("message")), selector)
    raise RpcError(f"malformed reply from {selector!r}: {outcome!r:.200}")


def _raise_remote(type_name: str, message: str, selector: str) -> NoReturn:
    cls = getattr(errors, type_name, None)
    if isinstance(cls, type) and issubclass(cls, DrwlabError):
        try:
            error = cls(message)
        except TypeError:
            pass
        else:
            raise error
    raise RpcError(f"{selector!r} failed: {type_name}: {message}")
