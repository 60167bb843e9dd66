"""MessageBus: send, listen, groups and RPC over the ``msgq`` database of any Store.

The bus keeps no state of its own beyond the listeners it started: every
message, claim, error and group lives in ``msgq``, so several processes (and
hosts, with CouchDB) share one bus by sharing one store.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

from drwlab.bus import claims, rpc
from drwlab.bus.claims import write_all
from drwlab.bus.listener import Listener, Process
from drwlab.bus.message import (
    DB,
    DEAD,
    LEASE_INDEX,
    PENDING_INDEX,
    REPLY_TAKEN_BY,
    age_key,
    group_doc_id,
    is_group,
    new_message,
    new_msgback_id,
    validate_body,
    validate_selector,
)
from drwlab.bus.watcher import ChangeWatcher
from drwlab.errors import Conflict, InvalidMessage, NotFound, StoreError
from drwlab.store.base import Doc, Store
from drwlab.wire import MAX_ATTEMPTS

LONGEST_WAIT = 0.5
"""Longest single wait on the change feed: a stopped bus's watcher ends within this."""


class MessageBus:
    """Messages on selectors, groups and RPC, kept in the ``msgq`` database of ``store``.

    Parameters
    ----------
    store:
        Any Store; the bus creates ``msgq`` and its indexes if needed.
    lease:
        Seconds a listener owns a claimed message; a running handler's lease is
        renewed, so this only bounds how late a message of a dead listener is redelivered.
    max_attempts:
        Deliveries of a message before it is dead-lettered: each one whose handler
        raised, and each one whose listener died (its lease ran out; a message
        that kills its process is not redelivered for ever).
    retry_delay:
        Back-off before the first retry; it doubles with each attempt.
    """

    def __init__(
        self,
        store: Store,
        *,
        lease: float = 30.0,
        max_attempts: int = MAX_ATTEMPTS,
        retry_delay: float = 0.2,
    ) -> None:
        if lease <= 0 or max_attempts < 1 or retry_delay < 0:
            raise ValueError("lease must be > 0, max_attempts >= 1 and retry_delay >= 0")
        self.store = store
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        store.create_db(DB)
        store.ensure_index(DB, PENDING_INDEX)
        store.ensure_index(DB, LEASE_INDEX)
        self._watcher = ChangeWatcher(store, DB, lease=lease, poll=min(LONGEST_WAIT, lease / 4))
        self._listeners: list[Listener] = []
        self._numbers = itertools.count(1)
        self._identity = f"{socket.gethostname()}:{os.getpid()}"

    def __repr__(self) -> str:
        return f"MessageBus({self.store!r}, listeners={len(self._listeners)})"

    # -- sending ------------------------------------------------------------------
    def send(self, selector: str, body: Any, *, sender: str | None = None) -> str:
        """Write a message for ``selector`` and return its id.

        A group selector (``name.*``) sends one message to each member selector
        (each carries ``"group": name``) and returns the first member's message id.

        Raises
        ------
        InvalidMessage
            The selector is malformed, the body is not JSON or is over 4 MiB, or
            the group has no members. Nothing is written.
        """
        return self.send_many([(selector, body)], sender=sender)[0]

    def send_many(
        self, messages: Iterable[tuple[str, Any]], *, sender: str | None = None
    ) -> list[str]:
        """Write several ``(selector, body)`` messages in one write; their ids, in order.

        One request on a server instead of one per message (a pipeline driver tells
        two caches and AQUA at once). Each is as ``send`` makes it, group selectors
        included (the id given is the first member's), and all are checked before
        anything is written.

        Raises
        ------
        InvalidMessage
            As ``send``, for any of them. Nothing is written.
        StoreError
            The store refused one of them (the others may be written).
        """
        ids: list[str] = []
        docs: list[Doc] = []
        for selector, body in messages:
            validate_selector(selector, group=None)
            validate_body(body)
            if is_group(selector):
                members = self.members(selector)
                if not members:
                    raise InvalidMessage(f"group {selector!r} has no members: join_group() first")
                made = [new_message(m, body, sender=sender, group=selector) for m in members]
            else:
                made = [new_message(selector, body, sender=sender)]
            ids.append(str(made[0]["_id"]))
            docs.extend(made)
        self._put(docs)
        return ids

    def _put_one(self, message: Doc) -> str:
        self._put([message])
        return str(message["_id"])

    def _put(self, messages: Sequence[Doc]) -> None:
        """Write new ``messages`` (one write) and route them to this process's listeners."""
        with self.store.announced_later():  # landed() tells this process's listeners
            written = write_all(self.store, messages)
        refused = [doc["_id"] for doc, copy in zip(messages, written, strict=True) if copy is None]
        self._watcher.landed([copy for copy in written if copy is not None])
        if refused:
            raise StoreError(f"the store refused new messages {', '.join(refused)}")

    # -- groups -------------------------------------------------------------------
    def join_group(self, group: str, member: str) -> None:
        """Make ``member`` (a selector) receive a copy of every message sent to ``group``.

        Idempotent; membership is stored in ``msgq``, so it outlives the process.
        """
        validate_selector(group, group=True)
        validate_selector(member)
        doc_id = group_doc_id(group)
        while True:
            try:
                doc = self.store.get(DB, doc_id)
            except NotFound:
                doc = {"_id": doc_id, "type": "group", "name": group, "members": []}
            if member in doc["members"]:
                return
            try:
                self.store.put(DB, dict(doc, members=[*doc["members"], member]))
                return
            except Conflict:
                continue  # someone else joined at the same moment: read again

    def members(self, group: str) -> list[str]:
        """The member selectors of ``group`` (empty if nobody joined)."""
        validate_selector(group, group=True)
        try:
            return list(self.store.get(DB, group_doc_id(group))["members"])
        except NotFound:
            return []

    # -- listening ----------------------------------------------------------------
    def listen(
        self,
        selector: str,
        handler: Callable[[Any], object],
        *,
        name: str | None = None,
        full_message: bool = False,
    ) -> Listener:
        """Call ``handler(body)`` in a background thread for each message on ``selector``.

        Messages are handled oldest first, each by exactly one of the listeners
        of the selector (in any process). A handler that raises has its message
        retried up to ``max_attempts`` times, then dead-lettered (at once for
        InvalidMessage); the listener carries on. Stop it with ``listener.stop()``.
        ``full_message`` (as the original's ``fullMessage``) passes the whole claimed
        message document instead of its body: its ``_id`` and ``attempts`` (2 or more:
        a redelivery) let a handler tell work it already did.
        """
        if full_message:
            return self._start(selector, handler, name)
        return self._start(selector, lambda doc: handler(doc.get("body")), name)

    def serve(
        self, selector: str, service: Callable[[Any], Any], *, name: str | None = None
    ) -> Listener:
        """Answer RPC requests on ``selector`` with ``service(request)`` (see ``call``).

        The reply's body is the service's value, as the original's Executor sent it;
        a service may return an ``rpc.Answer`` to put something else on the wire.
        """
        process = rpc.serving(service)
        return self._start(selector, process, name)

    def _start(self, selector: str, process: Process, name: str | None) -> Listener:
        validate_selector(selector)
        listener = Listener(
            self.store,
            self._watcher,
            selector,
            process,
            name=name or f"{selector}-{next(self._numbers)}",
            lease=self.lease,
            max_attempts=self.max_attempts,
            retry_delay=self.retry_delay,
        )
        self._listeners = [known for known in self._listeners if known.is_alive]
        self._listeners.append(listener)
        return listener.start()

    # -- RPC ----------------------------------------------------------------------
    def call(
        self, selector: str, request: Any, timeout: float = 10.0, *, sender: str | None = None
    ) -> Any:
        """Send ``request`` to the RPC server on ``selector`` and return its result.

        Raises
        ------
        RpcTimeout
            No reply within ``timeout`` seconds (the request is withdrawn if unclaimed).
        DrwlabError subclass
            The service raised it (e.g. IllegalTransition); re-raised here by name.
        RpcError
            The service raised an error that is not one of drwlab's.
        InvalidMessage
            ``selector`` or ``request`` cannot be sent.
        """
        return rpc.decode_reply(self.request(selector, request, timeout, sender=sender), selector)

    def request(
        self, selector: str, request: Any, timeout: float = 10.0, *, sender: str | None = None
    ) -> Doc:
        """Like ``call``, but return the whole reply document (its ``body`` as sent on
        the wire, and ``outcome``), raising only RpcTimeout and InvalidMessage."""
        validate_selector(selector)
        validate_body(request)
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, not {timeout!r}")
        identity = f"rpc-call@{self._identity}"
        message = new_message(selector, request, sender=sender, msgback_id=new_msgback_id())
        message[REPLY_TAKEN_BY] = identity
        return rpc.call(
            self.store, self._watcher, self._put_one, message, timeout=timeout, identity=identity
        )

    # -- inspection ---------------------------------------------------------------
    @property
    def store_down(self) -> bool:
        """True while the bus's change watcher finds the store unreachable.

        Loops that use the store outside the bus may wait for this to clear
        instead of probing the store themselves (one probe per bus).
        """
        return self._watcher.store_down

    def unread(self, selector: str | None = None) -> list[Doc]:
        """Messages not yet claimed (of ``selector``, or of all), oldest first."""
        query: dict[str, Any] = {"consumed": False}
        if selector is not None:
            query["selector"] = validate_selector(selector)
        return sorted(self.store.find(DB, query), key=age_key)

    def dead_letters(self) -> list[Doc]:
        """Messages given up on (each with its last ``error``), oldest first."""
        return sorted(self.store.find(DB, {"state": DEAD}), key=age_key)

    # -- repair -------------------------------------------------------------------
    def requeue(self, message_id: str, *, by: str | None = None) -> Doc:
        """Put dead letter ``message_id`` back in its queue, and return it as written.

        For after the cause is fixed: the message is pending again with its
        attempts reset, so a listener handles it as a new one (and may retry it
        ``max_attempts`` times again). Its last ``error`` and ``errorHistory``
        stay on it, and ``requeues`` records ``by`` (default: this process) and when.

        Raises
        ------
        NotFound
            No message has that id.
        InvalidMessage
            The message is not dead (pending, claimed or done): nothing is written.
        """
        who = by or self._identity
        while True:
            try:
                doc = self.store.get(DB, message_id)
            except NotFound:
                raise NotFound(f"no message {message_id!r} in {DB}") from None
            try:
                return self.store.put(DB, claims.requeued(doc, who))
            except Conflict:
                continue  # it changed meanwhile: look again

    # -- lifetime -----------------------------------------------------------------
    @property
    def listeners(self) -> list[Listener]:
        """The listeners and servers this bus started that are still running."""
        return [listener for listener in self._listeners if listener.is_alive]

    def close(self, timeout: float = 1.0) -> None:
        """Stop every listener and server this bus started (the store stays open)."""
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.signal_stop()  # all at once, then wait for each
        for listener in listeners:
            listener.stop(timeout)
        self._watcher.stop()  # lingering after a call, if no listener kept it
        self._watcher.join(timeout)

    def __enter__(self) -> MessageBus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
