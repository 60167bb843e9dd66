"""Document stores: ``open_store(url)`` picks the backend from the URL.

- ``None``: ``DRWLAB_STORE`` if set, else an SQLite file in the work dir;
- ``sqlite:///abs/path.db`` (or ``sqlite://relative.db``, ``sqlite://:memory:``
  is not offered: several threads and processes must share the file);
- ``http(s)://[user:password@]host:port[/prefix][?namespace=NAME]``: CouchDB or
  a compatible server, in a namespace of its databases if named (``namespace.py``);
  credentials may come from ``DRWLAB_COUCHDB_USER``/``_PASSWORD``.

``empty_namespace``, ``namespace_databases`` and ``drop_namespace`` check, look
at and drop one namespace of a server without creating anything in it;
``server_namespaces`` lists them all (``drwlab namespaces``).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from drwlab.credentials import hide_password
from drwlab.settings import Settings, from_environment
from drwlab.store.base import DATABASES, BulkResult, Change, ChangesPage, Doc, Seq, Store
from drwlab.store.namespace import namespaces_on, split_namespace, with_namespace
from drwlab.store.sqlite import SQLiteStore, sqlite_url

if TYPE_CHECKING:
    from drwlab.store.couchdb import CouchDBStore

__all__ = [
    "DATABASES",
    "BulkResult",
    "Change",
    "ChangesPage",
    "Doc",
    "Seq",
    "Store",
    "drop_namespace",
    "empty_namespace",
    "is_couchdb_url",
    "namespace_databases",
    "open_store",
    "server_namespaces",
    "sqlite_path",
    "sqlite_url",
]


def open_store(url: str | None = None, *, settings: Settings | None = None) -> Store:
    """Open (and create if needed) the store at ``url``; see the module docstring.

    The original system's databases are created, so a fresh store is ready
    for the bus and the actors.
    """
    settings = settings or from_environment()
    url = url or settings.default_store_url
    store: Store
    if url.startswith("sqlite://"):
        store = SQLiteStore(sqlite_path(url))
    elif is_couchdb_url(url):
        store = _server_store(url, settings)
    else:
        raise ValueError(f"unsupported store URL (use sqlite:///path or http://host:port): {url!r}")
    store.ensure_databases()
    return store


def sqlite_path(url: str) -> Path:
    """The file of an ``sqlite://`` store URL (``sqlite:////abs`` and ``sqlite:///abs`` alike)."""
    path = url.removeprefix("sqlite://")
    return Path(path[1:] if path.startswith("//") else path)


def is_couchdb_url(url: str) -> bool:
    """True for a store URL naming a CouchDB-compatible server (http or https)."""
    return url.startswith(("http://", "https://"))


def _require_server(url: str) -> None:
    """ValueError unless ``url`` names a CouchDB server, where namespaces are."""
    if not is_couchdb_url(url):
        raise ValueError(f"namespaces are on a CouchDB server, not in {url!r}")


def _server_store(url: str, settings: Settings) -> CouchDBStore:
    from drwlab.store.couchdb import CouchDBStore

    return CouchDBStore(url, user=settings.couchdb_user, password=settings.couchdb_password)


def namespace_databases(url: str, *, settings: Settings | None = None) -> list[str]:
    """The databases (logical names) of the namespace the CouchDB ``url`` names; none
    are created. Raises ValueError for a URL that is not a CouchDB one."""
    _require_server(url)
    with closing(_server_store(url, settings or from_environment())) as store:
        return store.db_names()


def drop_namespace(url: str, *, settings: Settings | None = None) -> list[str]:
    """Drop every database of the namespace the CouchDB ``url`` names; their logical
    names. Raises ValueError for a URL without a namespace (the whole server)."""
    _require_server(url)
    with closing(_server_store(url, settings or from_environment())) as store:
        return store.drop_namespace()


def server_namespaces(url: str, *, settings: Settings | None = None) -> dict[str, list[str]]:
    """Every namespace on the CouchDB server of ``url`` (a namespace it names is
    ignored), each with its logical databases. Raises ValueError for another URL."""
    _require_server(url)
    server, _namespace = split_namespace(url)
    with closing(_server_store(server, settings or from_environment())) as store:
        return namespaces_on(store.db_names())


def empty_namespace(server: object, namespace: str, *, settings: Settings | None = None) -> str:
    """The URL of ``namespace`` on the CouchDB server at URL ``server``, checked to hold
    no databases yet (nothing is created).

    Raises ValueError unless ``server`` is a CouchDB URL and the namespace is empty.
    """
    if not isinstance(server, str) or not is_couchdb_url(server):
        raise ValueError(
            f"namespace {namespace!r} needs a CouchDB store URL, not {server!r} "
            "(an SQLite store is a file of its own)"
        )
    url = with_namespace(server, namespace)
    present = namespace_databases(url, settings=settings)
    if present:
        raise ValueError(
            f"namespace {namespace!r} on {hide_password(server)} has databases already "
            f"({', '.join(present)}): choose another name "
            "(drwlab.store.namespace.fresh_namespace())"
        )
    return url
