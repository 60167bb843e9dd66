"""How a field of a message or a fault event reads in one table cell: plain text, pure.

A message's ``body`` and ``error``, its ``errorHistory`` (every failed attempt),
its ``requeues``, and a fault event of ``drwlab.faults`` are JSON of several
shapes; a table shows each as text a person reads without knowing the wire
format. Documents may come from other tools, so every field is read
defensively: a value of an unexpected shape is shown as JSON, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from drwlab.faults.events import CRASH, ORIGINAL_CONSUMER, OUTAGE, REQUEUE

BODY_SUMMARY_CHARS = 160


def summarize_body(body: Any, limit: int = BODY_SUMMARY_CHARS) -> str:
    """A message body as one line of JSON, cut to ``limit`` characters."""
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def describe_error(error: Any) -> str | None:
    """The bus's error record (``{"type", "message", ...}``) or a plain string, as one line."""
    if error is None or isinstance(error, str):
        return error
    if isinstance(error, dict) and ("type" in error or "message" in error):
        kind, message = error.get("type"), error.get("message")
        return f"{kind}: {message}" if kind and message is not None else str(message or kind)
    return summarize_body(error)


def describe_error_history(history: Any) -> str | None:
    """A message's ``errorHistory``, one line per failure, oldest first:
    ``2026-12-07T06:30:01.250 attempt 1: ValueError: ...`` (None if it has none)."""
    if not isinstance(history, list) or not history:
        return None
    return "\n".join(_failure_line(entry) for entry in history)


def _failure_line(entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return summarize_body(entry)
    attempt = entry.get("attempt")
    head = " ".join(
        part
        for part in (str(entry.get("timestamp") or ""), f"attempt {attempt}" if attempt else "")
        if part
    )
    what = describe_error(dict(entry)) or ""
    return f"{head}: {what}" if head else what


def describe_requeues(requeues: Any) -> str | None:
    """A message's ``requeues`` as ``re-queued by <who> at <when>``, one line each."""
    if not isinstance(requeues, list) or not requeues:
        return None
    return "\n".join(
        f"re-queued by {entry.get('by')} at {entry.get('timestamp')}"
        if isinstance(entry, Mapping)
        else summarize_body(entry)
        for entry in requeues
    )


def fault_actor(event: Mapping[str, Any]) -> str | None:
    """Who a fault event is about: the crashed actor, the original-way consumer, or who
    re-queued a dead letter (None for an outage: it struck every actor)."""
    field = {CRASH: "actor", ORIGINAL_CONSUMER: "name", REQUEUE: "by"}.get(str(event.get("kind")))
    value = event.get(field) if field else None
    return None if value is None else str(value)


def describe_fault(event: Mapping[str, Any]) -> str:
    """What a fault event of ``drwlab.faults`` says happened, in one or two sentences."""
    kind = event.get("kind")
    if kind == CRASH:
        held = _names(event.get("held"))
        return (
            f"killed ({_names(event.get('listeners')) or 'no listener'}) holding "
            f"{_count(event.get('held'))} message(s){': ' + held if held else ''}; "
            f"the lease of {_number(event.get('lease'))} s let another listener take them"
        )
    if kind == OUTAGE:
        return (
            f"the store was unreachable for {_number(event.get('seconds'))} s, from "
            f"{event.get('began')} to {event.get('ended')}; {event.get('refused')} calls refused"
        )
    if kind == REQUEUE:
        return (
            f"dead letter {event.get('message')} ({event.get('selector')}) put back in its "
            f"queue; it had died of {describe_error(event.get('error'))}"
        )
    if kind == ORIGINAL_CONSUMER:
        return f"consumed {event.get('selector')} the original's way, without claims"
    details = {k: v for k, v in event.items() if not str(k).startswith("_")}
    return summarize_body(details)


def _names(values: Any) -> str:
    return ", ".join(str(value) for value in values) if isinstance(values, list) else ""


def _count(values: Any) -> int:
    return len(values) if isinstance(values, list) else 0


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)
