"""NGAS, the archive's file store, mocked in the ``ngas`` database as the original did.

A file is one document whose ``_id`` is the file id (its name)::

    {"_id": "product-0-...data", "fileId": "product-0-...data",
     "encodedContents": "<base64>", "writeTimestamp": "2018-07-19T08:50:10.228",
     "ousUID": "uid://X1/X1/Xa1", "size": 312}

Putting the same content again is a no-op (a redelivered ingestion message
must not create a second file); different content replaces the document by
revision, so two writers racing on one file never both win silently.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from pathlib import Path

from drwlab.errors import CacheError, Conflict, NotFound, StoreError, UnsafePath
from drwlab.store.base import Doc, Store
from drwlab.timeutil import timestamp
from drwlab.wire import NGAS_DB

log = logging.getLogger(__name__)

MAX_FILE_ID = 255
_PUT_ATTEMPTS = 5


def check_file_id(file_id: object) -> str:
    """Return ``file_id`` if it is a plain file name, else raise UnsafePath.

    Refused: non-strings, empty, ``.``/``..`` anywhere, ``/``, ``\\``, NUL, ids
    longer than 255 characters, and a leading ``_`` (reserved by CouchDB).
    """
    if not isinstance(file_id, str) or not file_id:
        raise UnsafePath(f"NGAS file id must be a non-empty string, not {file_id!r}")
    if any(c in file_id for c in "/\\\0") or ".." in file_id or file_id == ".":
        raise UnsafePath(
            f"NGAS file id must be a plain file name (no '/', '\\\\', '..'): {file_id!r}"
        )
    if file_id.startswith("_"):
        raise UnsafePath(f"NGAS file id must not start with '_' (reserved): {file_id!r}")
    if len(file_id) > MAX_FILE_ID:
        raise UnsafePath(f"NGAS file id longer than {MAX_FILE_ID} characters: {file_id[:40]!r}...")
    return file_id


class Ngas:
    """The mock NGAS over a :class:`~drwlab.store.base.Store` (database ``ngas``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, file_id: str, content: bytes, *, ous_uid: str | None = None) -> Doc:
        """Archive ``content`` as ``file_id`` and return the stored document.

        Idempotent: identical content already archived returns the existing
        document unchanged. Different content overwrites it (a new revision).

        Raises:
            UnsafePath: ``file_id`` is not a plain file name.
            StoreError: the store failed (StoreUnavailable, or Conflict after
                repeated races with other writers).
        """
        check_file_id(file_id)
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError(f"NGAS content must be bytes, not {type(content).__name__}")
        content = bytes(content)
        encoded = base64.b64encode(content).decode("ascii")
        existing = None  # written as new first: read only when that is a conflict
        for _ in range(_PUT_ATTEMPTS):
            doc: Doc = {
                "_id": file_id,
                "fileId": file_id,
                "encodedContents": encoded,
                "writeTimestamp": timestamp(),
                "ousUID": ous_uid,
                "size": len(content),
            }
            if existing is not None:
                doc["_rev"] = existing["_rev"]
            try:
                stored = self.store.put(NGAS_DB, doc)
            except Conflict:
                existing = self._get_doc_or_none(file_id)  # someone wrote first
                if existing is not None and existing.get("encodedContents") == encoded:
                    log.debug("ngas: %s already archived, unchanged", file_id)
                    return existing
                continue
            log.info("ngas: archived %s (%d bytes)", file_id, len(content))
            return stored
        raise Conflict(f"ngas: gave up writing {file_id!r} after {_PUT_ATTEMPTS} write races")

    def put_file(self, path: Path, *, ous_uid: str | None = None) -> Doc:
        """Archive the file at ``path`` under its name; CacheError if it cannot be read."""
        path = Path(path)
        check_file_id(path.name)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CacheError(f"cannot read {path} for NGAS: {error.strerror or error}") from error
        return self.put(path.name, content, ous_uid=ous_uid)

    def get(self, file_id: str) -> bytes:
        """The content of ``file_id``; NotFound if NGAS does not hold it."""
        check_file_id(file_id)
        doc = self._get_doc_or_none(file_id)
        if doc is None:
            raise NotFound(f"NGAS holds no file {file_id!r}")
        try:
            return base64.b64decode(doc["encodedContents"], validate=True)
        except (KeyError, TypeError, binascii.Error) as error:
            raise StoreError(f"NGAS document {file_id!r} is corrupt: {error}") from None

    def has(self, file_id: str) -> bool:
        """True if NGAS holds ``file_id``."""
        return self._get_doc_or_none(check_file_id(file_id)) is not None

    def missing(self, file_ids: Iterable[str]) -> list[str]:
        """The ids of ``file_ids`` NGAS does not hold, in the given order, without repeats."""
        wanted = list(dict.fromkeys(check_file_id(f) for f in file_ids))
        # by id, all in one look-up: a query on _id $in reads every archived file on
        # either backend, and is asked again at each status change of each OUS
        try:
            held = self.store.get_many(NGAS_DB, wanted)
        except NotFound:  # no NGAS database (yet): it holds nothing
            return wanted
        return [f for f in wanted if f not in held]

    def file_ids(self) -> list[str]:
        """Every archived file id, sorted."""
        return sorted(doc["_id"] for doc in self.store.find(NGAS_DB, {}, fields=["_id"]))

    def _get_doc_or_none(self, file_id: str) -> Doc | None:
        try:
            return self.store.get(NGAS_DB, file_id)
        except NotFound:
            return None
