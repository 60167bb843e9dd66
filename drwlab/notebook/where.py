"""Where a sandbox's databases are, for a learner: the store, its server and namespace,
each database's name there, and links into the server's web UI.

On CouchDB (``DRWLAB_STORE``, ``./dev lab --couchdb``) a notebook's databases
live in a namespace of their own (``drwlab.store.namespace``): ``msgq`` is the
server's ``nb_..._3fa2-msgq``. A learner who opens the server's web UI (Fauxton,
at ``/_utils/``, served by Apache CouchDB and pouchdb-server alike) must know
which databases are theirs; ``nb.links`` shows it under the sandbox's links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from drwlab.credentials import split_credentials
from drwlab.sandbox import Sandbox
from drwlab.store import is_couchdb_url, sqlite_path
from drwlab.store.namespace import qualified, split_namespace
from drwlab.views.html import esc

WEB_UI = "/_utils/"
"""Fauxton, the web UI of CouchDB (and pouchdb-server), under the server's URL."""


@dataclass(frozen=True)
class StoreLocation:
    """Where a sandbox's databases are.

    ``server``: the CouchDB server's URL without credentials (None on SQLite);
    ``path``: the SQLite file; ``databases``: logical name -> the server's name.
    """

    server: str | None
    namespace: str | None
    path: str | None
    databases: dict[str, str] = field(default_factory=dict)

    @property
    def web_ui(self) -> str | None:
        """Fauxton's URL (None on SQLite)."""
        return None if self.server is None else self.server + WEB_UI

    def database_url(self, db: str) -> str | None:
        """Fauxton's page of the documents of logical database ``db`` (None on SQLite)."""
        if self.web_ui is None:
            return None
        return f"{self.web_ui}#database/{quote(self.databases[db], safe='')}/_all_docs"


def store_location(sandbox: Sandbox) -> StoreLocation:
    """Where ``sandbox``'s databases are (asks the store for their names)."""
    names = sandbox.store.db_names()
    url = sandbox.store_url
    if not is_couchdb_url(url):
        return StoreLocation(None, None, str(sqlite_path(url)), {db: db for db in names})
    server, namespace = split_namespace(url)
    base = split_credentials(server)[0]  # a link must not carry a password
    databases = {db: qualified(namespace, db) for db in names}
    return StoreLocation(base, namespace, None, databases)


def store_location_html(location: StoreLocation) -> str:
    """The store's place as a short HTML paragraph (links open in a new tab)."""
    if location.server is None:
        return (
            '<div class="drwlab-store"><p>Store: the embedded SQLite file '
            f"<code>{esc(location.path)}</code> (databases "
            f"{esc(', '.join(location.databases))}).</p></div>"
        )
    if location.namespace:
        place = f", namespace <code>{esc(location.namespace)}</code>"
        naming = f", on the server <code>{esc(location.namespace)}-</code> followed by the name"
    else:
        place, naming = " (no namespace: the original's layout)", ""
    # the prefix is said once, not in every name: the list stays one line (a title shows it)
    names = ", ".join(
        f'<a href="{esc(location.database_url(db))}" title="{esc(name)}" target="_blank" '
        f'rel="noopener">{esc(db)}</a>'
        for db, name in location.databases.items()
    )
    return (
        '<div class="drwlab-store"><p>Store: the CouchDB server '
        f"<code>{esc(location.server)}</code>{place}. Its databases{naming}: {names}. "
        f'Open them in the server\'s web UI, <a href="{esc(location.web_ui)}" target="_blank" '
        'rel="noopener">Fauxton</a>.</p></div>'
    )
