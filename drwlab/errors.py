"""The one tree of drwlab errors: callers catch what they can handle, nothing broader."""

from __future__ import annotations


class DrwlabError(Exception):
    """Base of every error drwlab raises on purpose."""


class StoreError(DrwlabError):
    """A document store operation failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (down, refused, timed out)."""


class NotFound(StoreError):
    """The database or document does not exist."""


class Conflict(StoreError):
    """A write carried a stale or missing revision: someone else wrote first."""


class InvalidQuery(StoreError):
    """A Mango selector, sort or field list is malformed or unsupported."""


class InvalidMessage(DrwlabError):
    """A message (selector or body) is not something the bus or an actor accepts."""


class RpcTimeout(DrwlabError):
    """No reply to an RPC call arrived within its timeout."""


class RpcError(DrwlabError):
    """The RPC service answered with an error of a type unknown to the caller."""


class InvalidUid(InvalidMessage, ValueError):
    """A string is not an ALMA uid such as ``uid://X1/X1/Xb2``."""


class UnknownOus(DrwlabError):
    """No status entity exists for the OUS."""


class IllegalTransition(DrwlabError):
    """A state or substate change that the OUS life-cycle does not allow."""


class UnsafePath(DrwlabError):
    """A path (archive entry, message name, URL) would escape its directory."""


class CacheError(DrwlabError):
    """A cache file operation failed: a missing, unreadable or unwritable file or directory."""


class PipelineFailed(DrwlabError):
    """The (mock) pipeline ended without a complete products tree."""


class ReviewError(DrwlabError):
    """A QA2 action on an OUS that is not in the state the action needs."""
