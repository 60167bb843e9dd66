"""ALMA uids and their database ids: one encoder, where the original had four that disagreed."""

from __future__ import annotations

import re

from drwlab.errors import InvalidUid

_UID = re.compile(r"^uid://([A-Za-z0-9]+)/([A-Za-z0-9]+)/([A-Za-z0-9]+)\Z")
_DOC_ID = re.compile(r"^uid___([A-Za-z0-9]+)_([A-Za-z0-9]+)_([A-Za-z0-9]+)\Z")


def check_uid(uid: object) -> str:
    """Return ``uid`` unchanged if it is a well-formed uid, else raise InvalidUid."""
    if not isinstance(uid, str) or not _UID.match(uid):
        raise InvalidUid(f"not an ALMA uid (expected uid://A/B/C, letters and digits): {uid!r}")
    return uid


def is_uid(uid: object) -> bool:
    """True for a well-formed uid such as ``uid://X1/X1/Xb2``."""
    return isinstance(uid, str) and bool(_UID.match(uid))


def uid_to_doc_id(uid: str) -> str:
    """``uid://X1/X1/Xb2`` -> ``uid___X1_X1_Xb2``, the original's document id."""
    match = _UID.match(check_uid(uid))
    assert match is not None
    return "uid___" + "_".join(match.groups())


def doc_id_to_uid(doc_id: str) -> str:
    """``uid___X1_X1_Xb2`` -> ``uid://X1/X1/Xb2``; the inverse of uid_to_doc_id."""
    match = _DOC_ID.match(doc_id)
    if not match:
        raise InvalidUid(f"not an encoded uid: {doc_id!r}")
    return "uid://" + "/".join(match.groups())


def uid_to_dashed(uid: str) -> str:
    """``uid://X1/X1/Xb2`` -> ``X1-X1-Xb2``, as used in product and weblog file names."""
    match = _UID.match(check_uid(uid))
    assert match is not None
    return "-".join(match.groups())


def uid_to_dirname(uid: str) -> str:
    """``uid://X1/X1/Xb2`` -> ``uid___X1_X1_Xb2``, the OUS directory in a products tree."""
    return uid_to_doc_id(uid)
