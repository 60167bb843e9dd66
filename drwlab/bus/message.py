"""Message documents on the ``msgq`` database: their fields, their ids and their checks.

A message is stored in the original system's format, so its tools can read ours::

    {"_id": "2018-07-19T08_50_10.228-000001-5f0c...@cached.JAO", "selector": "cached.JAO",
     "consumed": false, "creationTimestamp": "2018-07-19T08:50:10.228",
     "body": {...}, "msgbackID": "msgback.<uuid>"}      # msgbackID on RPC requests

and the bus adds its own bookkeeping beside those fields: ``state`` (``pending``,
``claimed``, ``done``, ``dead``), ``claimedBy``, ``leaseExpires``, ``attempts``,
``error``, ``errorDetail``, ``notBefore``, ``handledBy``, ``handledTimestamp``,
``sender``, ``group``, and ``replyTakenBy`` on drwlab's RPC requests.

Every id written here is one the original's ``save()``/``findOne()`` reach unchanged:
they replace ``:`` and ``/`` by ``_`` in the id they are given, so no id holds either
(a message id carries its timestamp as ``08_50_10.228``; a group document is stored
under the group's own name, ``cached.*``, where the original looks it up).

Everything a sender can get wrong is checked here, before anything is written.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import traceback
import uuid
from collections.abc import Mapping
from typing import Any

from drwlab.errors import DrwlabError, InvalidMessage
from drwlab.store.base import Doc
from drwlab.timeutil import timestamp
from drwlab.wire import MSGQ

DB = MSGQ
"""The database holding messages and group definitions."""

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest body accepted by ``send``, as UTF-8 JSON (4 MiB).

CouchDB refuses documents over its ``max_document_size`` (8 MB by default) and a
message must fit with its bookkeeping; the messages of the workflow are small.
Large payloads travel as files (NGAS, the replicated caches) named in a message.
"""

MAX_SELECTOR_LENGTH = 200

PENDING = "pending"
CLAIMED = "claimed"
DONE = "done"
DEAD = "dead"

GROUP_SUFFIX = ".*"
MSGBACK_PREFIX = "msgback."
REPLY_TAKEN_BY = "replyTakenBy"
"""On an RPC request from drwlab's client: its identity. The caller reads its reply
from the change feed, so drwlab's server writes the reply taken in its name
(``consumed``, ``done``, ``handledBy``) instead of leaving the caller a write to make.
The original's Executor ignores the field and writes a pending reply, which drwlab's
client then takes itself; the original's clients never send it and get pending replies."""

PENDING_INDEX = ("selector", "consumed", "creationTimestamp")
"""Index of the claim query: pending messages of one selector, oldest first."""
LEASE_INDEX = ("selector", "state", "leaseExpires")
"""Index of the lease check: claims of one selector whose lease has run out."""

_SELECTOR = re.compile(r"[A-Za-z0-9._-]+")
_COUNTER = itertools.count()


def validate_selector(selector: object, *, group: bool | None = False) -> str:
    """Return ``selector`` if it is a valid selector, else raise InvalidMessage.

    A selector is a non-empty string of letters, digits, ``.``, ``_`` and ``-``;
    a group selector ends in ``.*`` (the only place ``*`` may appear).
    ``group=False`` refuses groups, ``True`` requires one, ``None`` takes either.
    """
    if not isinstance(selector, str):
        raise InvalidMessage(f"a selector must be a string, not {type(selector).__name__}")
    is_group = selector.endswith(GROUP_SUFFIX)
    stem = selector[: -len(GROUP_SUFFIX)] if is_group else selector
    if not _SELECTOR.fullmatch(stem) or len(selector) > MAX_SELECTOR_LENGTH:
        raise InvalidMessage(
            f"invalid selector {selector!r}: use 1-{MAX_SELECTOR_LENGTH} characters of "
            "A-Z a-z 0-9 . _ - (and '.*' only as the suffix of a group)"
        )
    if group is True and not is_group:
        raise InvalidMessage(f"invalid group {selector!r}: group names end in '.*'")
    if group is False and is_group:
        raise InvalidMessage(f"{selector!r} is a group (ends in '.*'); a single selector is needed")
    return selector


def is_group(selector: str) -> bool:
    """True for a group selector such as ``state.change.*``."""
    return selector.endswith(GROUP_SUFFIX)


def group_doc_id(group: str) -> str:
    """The ``msgq`` document id holding the members of ``group``: its own name, as in
    the original (``findOne(msgq, "cached.*")``)."""
    return group


def is_group_doc(doc: Mapping[str, Any]) -> bool:
    """True for a group definition (``{"_id": "cached.*", "members": [...]}``) in ``msgq``."""
    return is_group(str(doc.get("_id", ""))) and "selector" not in doc


def original_doc_id(doc_id: str) -> str:
    """The id the original's ``save()``/``findOne()`` turn ``doc_id`` into (``:``, ``/`` -> ``_``).

    drwlab writes only ids this leaves unchanged, so the original reaches each document
    under the id drwlab gave it.
    """
    return doc_id.replace(":", "_").replace("/", "_")


def validate_body(body: Any) -> None:
    """Raise InvalidMessage unless ``body`` is JSON (and at most MAX_BODY_BYTES of it)."""
    try:
        _check_json(body, "body")
        size = len(json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8"))
    except RecursionError:
        raise InvalidMessage("the message body is nested too deeply to be JSON") from None
    if size > MAX_BODY_BYTES:
        raise InvalidMessage(
            f"the message body is {size:,} bytes of JSON; the limit is {MAX_BODY_BYTES:,}: "
            "put large payloads in a file and send its name"
        )


def _check_json(value: Any, where: str) -> None:
    """InvalidMessage naming the first part of ``value`` that is not JSON (the path to it
    from ``where``); the path is spelled only for a problem, not for every value walked."""
    problem = _first_problem(value)
    if problem is not None:
        path, what = problem
        raise InvalidMessage(f"{where}{path} {what}")


def _first_problem(value: Any) -> tuple[str, str] | None:
    """(path, what is wrong) of the first part of ``value`` that is not JSON, or None."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else ("", f"is {value!r}, which JSON cannot represent")
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _first_problem(item)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", f"has a key {key!r}: JSON object keys are strings"
            problem = _first_problem(item)
            if problem is not None:
                return f"[{key!r}]{problem[0]}", problem[1]
        return None
    return "", (
        f"is a {type(value).__name__}, not JSON (use dict, list, str, int, float, bool or None)"
    )


def new_message_id(created: str, selector: str) -> str:
    """A unique id that sorts by creation time (and sending order within one process)
    and ends in ``@<selector>``, so the change feed tells whom a change concerns.

    The timestamp's ``:`` become ``_`` (``2018-07-19T08_50_10.228-...``), as the original's
    ``save()`` writes its own ids: the original can then update our messages in place.
    """
    stamp = original_doc_id(created)
    return f"{stamp}-{next(_COUNTER) % 1_000_000:06d}-{uuid.uuid4().hex[:12]}@{selector}"


def selector_of_id(doc_id: str) -> str | None:
    """The selector named at the end of a message id, or None if it names none."""
    head, at, selector = doc_id.rpartition("@")
    if not at or not head or not _SELECTOR.fullmatch(selector):
        return None
    return selector


def new_msgback_id() -> str:
    """A fresh reply selector for one RPC call."""
    return MSGBACK_PREFIX + uuid.uuid4().hex


def new_message(
    selector: str,
    body: Any,
    *,
    sender: str | None = None,
    msgback_id: str | None = None,
    group: str | None = None,
) -> Doc:
    """A message document ready for ``store.put`` (already validated by the caller)."""
    created = timestamp()
    doc: Doc = {
        "_id": new_message_id(created, selector),
        "selector": selector,
        "consumed": False,
        "creationTimestamp": created,
        "body": body,
        "state": PENDING,
        "attempts": 0,
    }
    if msgback_id is not None:
        doc["msgbackID"] = msgback_id
    if sender is not None:
        doc["sender"] = sender
    if group is not None:
        doc["group"] = group
    return doc


def age_key(doc: Mapping[str, Any]) -> tuple[str, str]:
    """Sort key for oldest first: creation time, then id."""
    return (str(doc.get("creationTimestamp", "")), str(doc.get("_id", "")))


def error_fields(error: BaseException, attempt: int) -> dict[str, Any]:
    """What a failed handling leaves on the message.

    ``error`` is one readable line (``"RuntimeError: disk full"``, what views
    show); ``errorDetail`` has the type, message and attempt, and for errors
    outside drwlab's own tree (unexpected ones) a short traceback.
    """
    return failure_fields(type(error).__name__, str(error), attempt, _traceback(error))


def envelope_problem(doc: Mapping[str, Any]) -> str | None:
    """Why the bookkeeping fields of ``msgq`` document ``doc`` cannot be worked with, or None.

    ``send`` always writes them right; another tool writing straight into the
    store may not, and one bad document must not stop its selector's queue.
    """
    attempts = doc.get("attempts")
    if attempts is not None and (
        isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0
    ):
        return f"field 'attempts' must be a non-negative integer, not {attempts!r:.80}"
    for field in ("notBefore", "leaseExpires"):
        value = doc.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"field {field!r} must be a number of seconds since the epoch, not {value!r:.80}"
    return None


def failure_fields(
    kind: str, message: str, attempt: int | None, trace: list[str] | None = None
) -> dict[str, Any]:
    """``error`` and ``errorDetail`` for a failure named ``kind`` (see ``error_fields``)."""
    detail: dict[str, Any] = {"type": kind, "message": message, "timestamp": timestamp()}
    if attempt is not None:
        detail["attempt"] = attempt
    if trace:
        detail["traceback"] = trace
    return {"error": f"{kind}: {message}", "errorDetail": detail}


def _traceback(error: BaseException) -> list[str] | None:
    if isinstance(error, DrwlabError):
        return None
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    return [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
