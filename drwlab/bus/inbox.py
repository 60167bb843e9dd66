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

A copy can also come late: a listener's own query finds a message and claims it
before the sender in its process hands the message over (the sender's thread
paused between its write and the hand-over). So the Inbox remembers what it
saw taken, by revision generation, and turns away older copies that come after.
"""

from __future__ import annotations

import threading

from drwlab.store.base import Doc, rev_generation

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
        self._taken_at: dict[str, int] = {}
        """Generation of the last revision seen taken, per message id."""

    def offer(self, doc: Doc) -> None:
        """Note pending message ``doc`` (its latest revision replaces an earlier one),
        unless it is older than a revision seen taken: a late copy, not work."""
        with self._lock:
            if not self._complete:
                return
            generation = rev_generation(doc.get("_rev"))
            taken_at = self._taken_at.get(doc["_id"])
            if taken_at is not None and generation is not None:
                if generation <= taken_at:
                    return
                del self._taken_at[doc["_id"]]  # given back or requeued since: work again
            self._docs[doc["_id"]] = doc
            if len(self._docs) > MAX_ENTRIES:
                self._docs.clear()
                self._complete = False

    def drop(self, doc: Doc) -> None:
        """Forget message ``doc``: this revision of it is not pending (claimed, done)."""
        with self._lock:
            self._docs.pop(doc["_id"], None)
            generation = rev_generation(doc.get("_rev"))
            if generation is not None:
                if len(self._taken_at) >= MAX_ENTRIES:
                    self._taken_at.clear()  # a bound: at worst a late copy costs a lost claim
                self._taken_at[doc["_id"]] = generation

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
