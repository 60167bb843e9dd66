"""Timestamps as the original wrote them: UTC, ISO 8601, milliseconds, no zone suffix.

One helper in one place: the original mixed local time and UTC across scripts.
"""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """``2018-07-19T08:50:10.228`` for an aware (or naive UTC) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime(_FORMAT)[:-3]


def timestamp() -> str:
    """The current UTC time in the wire format (``2018-07-19T08:50:10.228``)."""
    return format_timestamp(utc_now())


def parse_timestamp(text: str) -> datetime:
    """Read a wire timestamp (a trailing ``Z`` or offset is accepted) as aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def filename_timestamp(text: str) -> str:
    """A wire timestamp made safe for file names: ``2018_07_19T08_50_10.228``."""
    return text.replace("-", "_").replace(":", "_")
