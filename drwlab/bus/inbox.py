"""What the change feed told one subscriber about its pending messages since it last asked.

The bus watcher reads the ``msgq`` change feed with the documents included,
so it sees each message as it lands. For every subscriber (a listener, an
RPC call waiting for its reply) it keeps an Inbox: the pending messages of
the subscriber's selector seen since the subscriber last took them. A
listener that has read the whole queue once then needs no query to find new
work: what arrived since is in its Inbox, and it claims it straight away.
That saves a request per hop on a server (the ``_find``), and claims stay by
revision, so a stale entry only costs a lost claim, never a double delivery.

The Inbox is *complete* only if every change of the selector since the last
``take`` went through it. Whenever the watcher cannot vouch for that (it
restarted, read a full page, saw a change without its document, or the inbox
overflowed) it calls ``lose``, and the subscriber queries the store instead.
"""

from __future__ import annotations

import threading

from drwlab.store.base import Doc

MAX_ENTRIES = 2000
"""Most pending messages kept; beyond, the inbox gives up and its owner queries."""


class Inbox:
    """Pending messages of one selector seen on the feed; see the module docstring.

    ``complete`` says whether the subscriber already knows everything before the
    first ``take``: a listener starts not knowing (it must query once), an RPC
    call subscribed before sending its request knows there is no reply yet.
    """

    def __init__(self, *, complete: bool) -> None:
        self._lock = threading.Lock()
        self._docs: dict[str, Doc] = {}
        self._complete = complete

    def offer(self, doc: Doc) -> None:
        """Note pending message ``doc`` (its latest revision replaces an earlier one)."""
        with self._lock:
            if not self._complete:
                return
            self._docs[doc["_id"]] = doc
            if len(self._docs) > MAX_ENTRIES:
                self._docs.clear()
                self._complete = False

    def drop(self, doc_id: str) -> None:
        """Forget ``doc_id``: it changed into something that is not pending."""
        with self._lock:
            self._docs.pop(doc_id, None)

    def lose(self) -> None:
        """Note that some change may have gone unseen: the next ``take`` gives None."""
        with self._lock:
            self._docs.clear()
            self._complete = False

    def has_news(self) -> bool:
        """True if a ``take`` would give something, or None (something may be missing).

        The truth a woken subscriber acts on: its Event can be cleared by its own
        rearm just after the watcher set it, but what the watcher noted stays here.
        """
        with self._lock:
            return bool(self._docs) or not self._complete

    def take(self) -> list[Doc] | None:
        """The pending messages seen since the last take, or None if some may be missing.

        Either way the inbox starts afresh, complete: call this *before*
        querying the store, so that anything landing during the query is
        either in the query's answer or in the next take.
        """
        with self._lock:
            docs = list(self._docs.values()) if self._complete else None
            self._docs = {}
            self._complete = True
            return docs
