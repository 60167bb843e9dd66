"""What the store traffic of a benchmark run is made of: requests, bytes and documents.

``Traffic.recording()`` wraps, for as long as it is open, the two places every
store read goes through in this process:

- ``requests``' ``HTTPAdapter.send`` (the CouchDB backend): each request is counted
  by route (method, database and kind: ``PUT msgq/<id>``, ``POST
  status-entities/_find``, ``GET msgq/_changes (feed)``, ``GET msgq (info)``...),
  with the bytes sent and received and the documents received, counted by
  their ``"_id"`` members (a streamed feed is counted as it is read);
- ``json.loads`` as the SQLite backend calls it: one decoded document each.

Each is also counted per actor: the name of the thread doing it, with the bus's
``drwlab-listener-``/``drwlab-actor-`` prefixes and listener numbers taken off
(``drwlab-bus-watcher`` is the shared watcher, feeding every listener).
Recording costs a little CPU of its own; the CPU figures of a run include it.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter

import drwlab.store.sqlite
import drwlab.store.sqlite_query

_THREAD_PREFIX = re.compile(r"^drwlab-(listener|actor)-")
_THREAD_NUMBER = re.compile(r"[-_]\d+$")  # a listener's number, a pool thread's
_ID_MEMBER = b'"_id"'


def actor_of_thread(name: str) -> str:
    """``drwlab-listener-xtss-1`` -> ``xtss``, ``drwlab-actor-aqua-qa2-autopilot_3`` ->
    ``aqua-qa2-autopilot``; other thread names as they are."""
    return _THREAD_NUMBER.sub("", _THREAD_PREFIX.sub("", name))


def route(method: str, url: str) -> str:
    """A request's route: the method, the database and what in it (ids left out)."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments:
        return f"{method} /"
    db, rest = segments[0], segments[1:]
    if db.startswith("_"):
        return f"{method} {db}"
    if not rest:
        return f"{method} {db} (info)"
    if rest[0] == "_changes":
        feed = parse_qs(parts.query).get("feed", ["normal"])[0]
        return f"{method} {db}/_changes ({feed})"
    if rest[0].startswith("_") and rest[0] != "_design":
        return f"{method} {db}/{rest[0]}"
    return f"{method} {db}/<id>"


class _CountingJson:
    """Stands for the ``json`` module in the SQLite backend: counts ``loads``."""

    def __init__(self, count: Callable[[], None]) -> None:
        self._count = count

    def loads(self, text: Any, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return json.loads(text, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


class Traffic:
    """Counts of one recording (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        """(actor, route) -> requests."""
        self.docs: Counter[tuple[str, str]] = Counter()
        """(actor, route) -> documents received (CouchDB) or decoded (SQLite, ``json.loads``)."""
        self.bytes_sent: Counter[str] = Counter()
        self.bytes_received: Counter[str] = Counter()
        """Actor -> bytes."""

    def _request(self, name: str, sent: int) -> None:
        actor = actor_of_thread(threading.current_thread().name)
        with self._lock:
            self.requests[actor, name] += 1
            self.bytes_sent[actor] += sent

    def _received(self, name: str, body: bytes) -> None:
        actor = actor_of_thread(threading.current_thread().name)
        docs = body.count(_ID_MEMBER)
        with self._lock:
            self.bytes_received[actor] += len(body)
            if docs:
                self.docs[actor, name] += docs

    def _decoded(self) -> None:
        actor = actor_of_thread(threading.current_thread().name)
        with self._lock:
            self.docs[actor, "json.loads"] += 1

    @contextmanager
    def recording(self) -> Iterator[Traffic]:
        """Count while inside (not re-entrant; one recording at a time)."""
        original_send = HTTPAdapter.send
        traffic = self

        def send(adapter: HTTPAdapter, request: Any, **kwargs: Any) -> requests.Response:
            name = route(str(request.method), str(request.url))
            traffic._request(name, len(request.body or b""))
            response = original_send(adapter, request, **kwargs)
            if kwargs.get("stream"):
                inner = response.iter_content

                def counted(*args: Any, **kw: Any) -> Iterator[Any]:
                    for chunk in inner(*args, **kw):
                        traffic._received(name, chunk)
                        yield chunk

                response.iter_content = counted  # type: ignore[method-assign]
            else:
                traffic._received(name, response.content or b"")
            return response

        modules = (drwlab.store.sqlite, drwlab.store.sqlite_query)
        HTTPAdapter.send = send  # type: ignore[method-assign]
        for module in modules:
            module.json = _CountingJson(self._decoded)  # type: ignore[assignment]
        try:
            yield self
        finally:
            HTTPAdapter.send = original_send  # type: ignore[method-assign]
            for module in modules:
                module.json = json  # type: ignore[assignment]

    def per_ous(self, n: int, leave_out: str = "") -> dict[str, Any]:
        """The figures divided by ``n`` OUSs, routes and actors most first, without the
        threads whose names start with ``leave_out`` (if given)."""

        def kept(actor: str) -> bool:
            return not (leave_out and actor.startswith(leave_out))

        def each(counter: Counter[str]) -> dict[str, float]:
            return {k: round(v / n, 1) for k, v in counter.most_common()}

        def by(counter: Counter[tuple[str, str]], part: int) -> Counter[str]:
            out: Counter[str] = Counter()
            for key, value in counter.items():
                if kept(key[0]):
                    out[key[part]] += value
            return out

        def total(counter: Counter[Any]) -> float:
            return round(sum(by(counter, 0).values()) / n, 1)

        sent = sum(v for actor, v in self.bytes_sent.items() if kept(actor))
        received = sum(v for actor, v in self.bytes_received.items() if kept(actor))
        return {
            "requests": total(self.requests),
            "kbytes_sent": round(sent / n / 1024, 1),
            "kbytes_received": round(received / n / 1024, 1),
            "docs": total(self.docs),
            "requests_by_route": each(by(self.requests, 1)),
            "requests_by_actor": each(by(self.requests, 0)),
            "docs_by_route": each(by(self.docs, 1)),
            "docs_by_actor": each(by(self.docs, 0)),
            "requests_by_actor_and_route": {
                f"{actor}: {name}": round(v / n, 1)
                for (actor, name), v in self.requests.most_common()
                if kept(actor)
            },
        }
