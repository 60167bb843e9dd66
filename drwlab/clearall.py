"""The original's ``clear-all.sh``: empty every database and every cache directory.

Used by ``Sandbox.reset()`` and ``drwlab reset``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from drwlab.bus.message import CLAIMED, MSGBACK_PREFIX, PENDING, is_group_doc
from drwlab.bus.message import DB as MSGQ
from drwlab.store import DATABASES, Store
from drwlab.store.base import Doc
from drwlab.wire import FAULTS_DB

log = logging.getLogger(__name__)


def clear_all(store: Store, caches: Iterable[Path] = (), *, running: bool = False) -> None:
    """The original's ``clear-all.sh``: empty every database and every cache directory.

    drwlab's own record of injected faults (``fault-events``) is emptied too
    when it exists: after a reset the report tells no faults of before it.
    The databases and cache directories themselves stay (a cache keeps an
    empty ``weblogs/``), so file servers carry on. With ``running`` (actors
    are up) what they need to carry on stays too: the bus's group documents,
    the messages being handled right now and the RPC requests and replies in
    flight, so no caller waits for a reply that was wiped. Work in flight on
    a wiped OUS ends in an error the actor logs (no such OUS).
    """
    caches = [Path(cache) for cache in caches]
    faults = [FAULTS_DB] if FAULTS_DB in store.db_names() else []
    for db in (*DATABASES, *faults):
        store.create_db(db)
        doomed = [
            {"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True}
            for doc in store.all_docs(db)
            if not (running and db == MSGQ and _keep_while_running(doc))
        ]
        for result in store.bulk_put(db, doomed) if doomed else []:
            if result.error:  # written meanwhile: in flight, leave it
                log.info("reset: %s/%s left: %s", db, result.id, result.error)
    for cache in caches:
        cache.mkdir(parents=True, exist_ok=True)
        for child in cache.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        (cache / "weblogs").mkdir(exist_ok=True)
    log.info("cleared every database of %s and %d cache(s)", store.url, len(caches))


def _keep_while_running(message: Doc) -> bool:
    """Groups, messages being handled right now, and RPC requests and replies in flight."""
    if is_group_doc(message) or message.get("state") == CLAIMED:
        return True
    rpc = "msgbackID" in message or str(message.get("selector", "")).startswith(MSGBACK_PREFIX)
    return rpc and message.get("state") == PENDING
