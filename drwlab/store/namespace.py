"""Namespaces on one CouchDB server: databases of their own for each sandbox or learner.

A namespace is a prefix of database names: in namespace ``alice`` the bus's
``msgq`` is the server's ``alice-msgq``. The store applies it (``CouchDBStore``),
so actors, the bus and the views keep the logical names of ``drwlab.wire`` and
the documents inside stay the original's. No namespace (``None``) is the
original's own layout: ``msgq``, ``status-entities``, ... at the server's top.

Why a prefix and not one server (or one CouchDB "partition") per learner: one
server is what an instructor can run, a prefix needs nothing of the server
(pouchdb-server and Apache CouchDB alike), and Fauxton lists a namespace's
databases side by side. A namespace has no ``-``, so the first ``-`` of a
server name ends it: ``alice`` never sees ``alice_2``'s databases, nor drops them.

In a store URL the namespace is a query parameter:
``http://host:5984?namespace=alice`` (what ``DRWLAB_STORE`` and ``drwlab --store``
take, so every process of one learner can join the same namespace).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit, urlunsplit

from drwlab.timeutil import utc_now
from drwlab.wire import DATABASES, FAULTS_DB

SEPARATOR = "-"
"""Between a namespace and a logical database name: ``alice-msgq``."""
QUERY_KEY = "namespace"
"""The store URL's query parameter that names the namespace."""
FRESH_PREFIX = "nb"
"""How the names :func:`fresh_namespace` makes start: ``nb_20261207_063112_3fa2``."""
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FRESH = re.compile(r"[a-z][a-z0-9_]*_(?P<stamp>\d{8}_\d{6})_[0-9a-f]{4}")
_STAMP = "%Y%m%d_%H%M%S"
OURS = frozenset((*DATABASES, FAULTS_DB))
"""The logical databases a drwlab namespace holds: a server name of one of these after
a namespace and ``-`` marks the namespace (another application's ``foo-bar`` does not)."""


def check_namespace(namespace: object) -> str:
    """``namespace`` if it is a valid one; ValueError saying what a namespace may be."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"invalid namespace {namespace!r}: a lowercase letter, then lowercase letters, "
            "digits or '_' (at most 64; no '-', which ends a namespace in a database name)"
        )
    return namespace


def fresh_namespace(prefix: str = FRESH_PREFIX) -> str:
    """A new namespace name: ``prefix``, the UTC time to the second and 4 random hex digits.

    The time makes leftovers (a kernel killed before it could clean up) easy
    to date in Fauxton; the random part keeps two starts in one second apart.
    """
    stamp = utc_now().strftime(_STAMP)
    return check_namespace(f"{prefix}_{stamp}_{secrets.token_hex(2)}")


def qualified(namespace: str | None, db: str) -> str:
    """The server's name of logical database ``db`` in ``namespace``."""
    return db if namespace is None else f"{namespace}{SEPARATOR}{db}"


def logical(namespace: str | None, server_name: str) -> str | None:
    """The logical name of the server's database ``server_name`` if it is in
    ``namespace``, else None (``None``: the top, every database is in it)."""
    if namespace is None:
        return server_name
    head, separator, rest = server_name.partition(SEPARATOR)
    return rest if separator and head == namespace and rest else None


def split_namespace(url: str) -> tuple[str, str | None]:
    """``url`` without its query, and the namespace its query names (None if none).

    Raises ValueError for another query parameter, or an invalid namespace.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url, None
    asked = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(asked) - {QUERY_KEY})
    if unknown or len(asked.get(QUERY_KEY, [])) != 1:
        raise ValueError(
            f"a CouchDB URL's query takes one {QUERY_KEY}=NAME and nothing else, "
            f"not {parts.query!r}"
        )
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment))
    return base, check_namespace(asked[QUERY_KEY][0])


def with_namespace(url: str, namespace: str | None) -> str:
    """``url`` (a CouchDB URL without a namespace) naming ``namespace`` in its query.

    Raises ValueError if ``url`` names another namespace already.
    """
    base, present = split_namespace(url)
    if namespace is None or present == namespace:
        return url
    if present is not None:
        raise ValueError(f"the URL names namespace {present!r} already, not {namespace!r}")
    return f"{base}?{QUERY_KEY}={check_namespace(namespace)}"


def made_at(namespace: str) -> datetime | None:
    """When :func:`fresh_namespace` made ``namespace`` (UTC), read from its name;
    None for a name it did not make (an instructor's ``alice``)."""
    match = _FRESH.fullmatch(namespace)
    if match is None:
        return None
    try:
        return datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:  # digits that are no date: not one of ours
        return None


def namespaces_on(server_names: Iterable[str]) -> dict[str, list[str]]:
    """The namespaces among a server's database names, each with its logical databases
    (sorted); the top (the original's layout) and other applications' databases are
    not namespaces."""
    found: dict[str, list[str]] = {}
    for name in server_names:
        head, separator, rest = name.partition(SEPARATOR)
        if separator and rest in OURS and _NAMESPACE.fullmatch(head):
            found.setdefault(head, []).append(rest)
    return {namespace: sorted(dbs) for namespace, dbs in sorted(found.items())}


def left_over(namespaces: Iterable[str], older_than: timedelta, now: datetime) -> list[str]:
    """The namespaces :func:`fresh_namespace` made more than ``older_than`` before ``now``:
    a notebook's, whose kernel ended without dropping them. Named ones never are."""
    return [
        namespace
        for namespace in namespaces
        if (made := made_at(namespace)) is not None and now - made > older_than
    ]
