"""Document stores: ``open_store(url)`` picks the backend from the URL.

- ``None``: ``DRWLAB_STORE`` if set, else an SQLite file in the work dir;
- ``sqlite:///abs/path.db`` (or ``sqlite://relative.db``, ``sqlite://:memory:``
  is not offered: several threads and processes must share the file);
- ``http(s)://[user:password@]host:port[/prefix]``: CouchDB or a compatible
  server; credentials may come from ``DRWLAB_COUCHDB_USER``/``_PASSWORD``.
"""

from __future__ import annotations

from pathlib import Path

from drwlab.settings import Settings, from_environment
from drwlab.store.base import DATABASES, BulkResult, Change, ChangesPage, Doc, Seq, Store
from drwlab.store.sqlite import SQLiteStore, sqlite_url

__all__ = [
    "DATABASES",
    "BulkResult",
    "Change",
    "ChangesPage",
    "Doc",
    "Seq",
    "Store",
    "open_store",
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
        path = url[len("sqlite://") :]
        if path.startswith("//"):
            path = path[1:]
        store = SQLiteStore(Path(path))
    elif url.startswith(("http://", "https://")):
        from drwlab.store.couchdb import CouchDBStore

        store = CouchDBStore(url, user=settings.couchdb_user, password=settings.couchdb_password)
    else:
        raise ValueError(f"unsupported store URL (use sqlite:///path or http://host:port): {url!r}")
    store.ensure_databases()
    return store
