"""The dashboard web page: the original's tables, live, plus dead letters and actor liveness.

``Dashboard(store).start()`` serves on 127.0.0.1 (a free port by default):

- ``/``              the page (board, tables, links), rendered from one snapshot;
- ``/api/snapshot``  the same snapshot as JSON;
- ``/events``        server-sent events: the page's fragments whenever they change.

Nothing else is served (no file is ever read from disk: every other path is a
404). A ``views.follow.Follower`` follows the change feeds while a page is
connected; on a change it re-renders, but only if the change token moved, and
sends the fragments that differ. The page swaps them in place with a small
inline script: no reload, no flashing. The tables shown are those of
``views.registry`` marked ``on_dashboard``.

The server reads through the read models and draws through the renderers; it
imports nothing above them (the Sandbox starts it, never the other way).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from drwlab.errors import StoreError
from drwlab.store.base import Store
from drwlab.views.follow import Follower
from drwlab.views.html import STYLE, dashboard_tables, esc, fragments, links_html, sections
from drwlab.views.registry import databases as databases_read
from drwlab.views.tables import ChangeToken, Snapshot, change_token, snapshot

logger = logging.getLogger(__name__)

ROW_LIMIT = 200
"""Rows shown per table on the page (the report shows them all)."""
KEEPALIVE = 15.0
"""Seconds between SSE comments on an idle connection (to notice closed pages)."""

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
)

SCRIPT = """
(function () {
  var shown = {};
  var live = document.getElementById("live");
  function apply(update) {
    var parts = update.fragments;
    for (var id in parts) {
      var el = document.getElementById(id);
      if (el && shown[id] !== parts[id]) { el.innerHTML = parts[id]; shown[id] = parts[id]; }
    }
    document.body.setAttribute("data-token", update.token);
    var count = Number(document.body.getAttribute("data-updates") || 0) + 1;
    document.body.setAttribute("data-updates", String(count));
  }
  var source = new EventSource("events");
  source.addEventListener("update", function (e) {
    apply(JSON.parse(e.data));
    live.textContent = "live";
  });
  source.onerror = function () { live.textContent = "reconnecting\\u2026"; };
})();
""".strip()


def page_html(title: str, links: Mapping[str, str] | None, parts: Mapping[str, str]) -> str:
    """The whole dashboard page around the fragments ``parts``."""
    rows = f'<div class="tables">{sections(dashboard_tables(), parts)}</div>'
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{esc(title)}</h1><p><span id="updated" class="updated">{parts.get("updated", "")}'
        f'</span> <span id="live" class="updated"></span></p>'
        f'<div id="links">{links_html(links)}</div>'
        f'<div class="table-div wide" id="board">{parts.get("board", "")}</div>'
        f"{rows}<script>{SCRIPT}</script></body></html>"
    )


@dataclass
class _Rendered:
    token: ChangeToken
    snap: Snapshot
    parts: dict[str, str]
    api: bytes | None = None


@dataclass(eq=False)
class _Client:
    wake: threading.Event = field(default_factory=threading.Event)
    pending: dict[str, str] = field(default_factory=dict)
    token: str = ""


def _token_text(token: ChangeToken) -> str:
    return ",".join(str(seq) for seq in token)


class Dashboard:
    """The live dashboard of ``store``, served over HTTP on ``host:port``.

    Parameters
    ----------
    store:
        Any Store; the dashboard only reads it.
    host, port:
        Where to listen; ``port=0`` picks a free port (see :attr:`url`).
    links:
        Name -> URL shown at the top (replicated caches, weblogs).
    title:
        The page's title and heading.
    databases:
        The databases whose changes refresh the page (default: those the tables read).
    poll:
        Longest single wait on a change feed: bounds how late ``stop`` is
        noticed (a change is noticed at once).
    throttle:
        Least time between two pushes (a burst of writes makes one update);
        a render that took longer than this is followed by as long a rest.
    """

    def __init__(
        self,
        store: Store,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        links: Mapping[str, str] | None = None,
        title: str = "drwlab dashboard",
        databases: Sequence[str] | None = None,
        poll: float = 0.4,
        throttle: float = 0.2,
    ) -> None:
        self.store = store
        self.host, self.port = host, port
        self.links = dict(links or {})
        self.title = title
        self.render_count = 0
        self._databases = databases_read() if databases is None else tuple(databases)
        self._poll, self._throttle = poll, throttle
        self._lock = threading.Lock()
        self._rendered: _Rendered | None = None
        self._stop = threading.Event()
        self._watched = threading.Event()  # set while a page is connected
        self._clients: set[_Client] = set()
        self._clients_changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._follower: Follower | None = None

    # -- lifetime ---------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://host:port/`` once started."""
        if self._server is None:
            raise RuntimeError("the dashboard is not started")
        return f"http://{self.host}:{self._server.server_address[1]}/"

    def start(self) -> Dashboard:
        """Bind, then serve and watch the store in daemon threads; returns self."""
        if self._server is not None:
            return self
        self._stop.clear()
        # Placed in the feeds before serving: any write after this is noticed.
        self._follower = Follower(
            self.store,
            self._databases,
            self._on_change,
            name="drwlab-dashboard",
            rest=self._throttle,
            heartbeat=self._poll,
            wanted=self._watched,
        ).start()
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(
            target=server.serve_forever, args=(0.1,), name="drwlab-dashboard-serve", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        logger.info("dashboard of %s at %s", self.store.url, self.url)
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Close the event streams, stop serving and watching; wait up to ``timeout`` s."""
        server = self._server
        if server is None:
            return
        self._stop.set()
        with self._clients_changed:
            for client in self._clients:
                client.wake.set()
            self._clients_changed.wait_for(lambda: not self._clients, timeout)
        server.shutdown()
        server.server_close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if self._follower is not None:
            self._follower.stop(max(0.0, deadline - time.monotonic()))
            alive += [] if self._follower.finished else [self._follower.name]
            self._follower = None
        if alive:
            logger.warning("dashboard threads still running after %.1f s: %s", timeout, alive)
        self._threads = []
        self._server = None

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- rendering --------------------------------------------------------------
    def current(self) -> _Rendered:
        """The rendered snapshot, re-rendered only when the change token moved."""
        token = change_token(self.store)
        with self._lock:
            previous = self._rendered
            if previous is not None and previous.token == token:
                return previous
            snap = snapshot(self.store, previous.snap if previous else None)
            self._rendered = _Rendered(snap.token, snap, fragments(snap, limit=ROW_LIMIT))
            self.render_count += 1
            return self._rendered

    def page(self) -> str:
        """The page as it stands now."""
        rendered = self.current()
        return page_html(self.title, self.links, rendered.parts)

    def api_snapshot(self) -> bytes:
        """The snapshot as JSON bytes (cached until the next change)."""
        rendered = self.current()
        if rendered.api is None:
            rendered.api = json.dumps(rendered.snap.to_json(), default=str).encode("utf-8")
        return rendered.api

    # -- following and pushing -------------------------------------------------------
    def _on_change(self, changed: frozenset[str]) -> None:
        """The follower's call: push the new fragments to the connected pages, if any."""
        if self._clients and not self._stop.is_set():
            try:
                self._push(self.current())
            except StoreError as error:
                logger.warning("dashboard: reading the store failed (%s)", error)

    def _push(self, rendered: _Rendered) -> None:
        token = _token_text(rendered.token)
        with self._clients_changed:
            for client in self._clients:
                if client.token != token:
                    client.pending.update(rendered.parts)
                    client.token = token
                    client.wake.set()

    # -- event streams ---------------------------------------------------------------
    def _attach(self) -> _Client:
        client = _Client()
        rendered = self.current()
        client.pending.update(rendered.parts)
        client.token = _token_text(rendered.token)
        client.wake.set()
        with self._clients_changed:
            self._clients.add(client)
            self._watched.set()
            self._clients_changed.notify_all()
        return client

    def _detach(self, client: _Client) -> None:
        with self._clients_changed:
            self._clients.discard(client)
            if not self._clients:
                self._watched.clear()
            self._clients_changed.notify_all()

    def _take(self, client: _Client, sent: dict[str, str]) -> bytes | None:
        """The next SSE event for ``client`` (only fragments it has not seen), or None."""
        with self._clients_changed:
            parts = {k: v for k, v in client.pending.items() if sent.get(k) != v}
            client.pending.clear()
            token = client.token
        if not parts:
            return None
        sent.update(parts)
        data = json.dumps({"token": token, "fragments": parts})
        return f"event: update\ndata: {data}\n\n".encode()

    def stream(self, write: Any) -> None:
        """Write events to ``write(bytes)`` until the dashboard stops or the page leaves."""
        client = self._attach()
        sent: dict[str, str] = {}
        try:
            while not self._stop.is_set():
                if client.wake.wait(KEEPALIVE):
                    client.wake.clear()
                    event = None if self._stop.is_set() else self._take(client, sent)
                    if event is not None:
                        write(event)
                else:
                    write(b": keepalive\n\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            logger.debug("dashboard: an event stream closed")
        finally:
            self._detach(client)


class _Handler(BaseHTTPRequestHandler):
    """Routes the three paths of the dashboard; everything else is a 404."""

    dashboard: Dashboard
    server_version = "drwlab-dashboard"

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        try:
            if path == "/":
                self._send(HTTPStatus.OK, "text/html", self.dashboard.page().encode("utf-8"))
            elif path == "/api/snapshot":
                self._send(HTTPStatus.OK, "application/json", self.dashboard.api_snapshot())
            elif path == "/events":
                self._events()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
        except StoreError as error:
            logger.warning("dashboard: %s", error)
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"store unavailable\n")

    def _headers(self, status: HTTPStatus, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self._headers(status, kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        self._headers(HTTPStatus.OK, "text/event-stream")
        self.end_headers()

        def write(data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        self.dashboard.stream(write)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("dashboard %s: " + format, self.address_string(), *args)


def _handler_for(dashboard: Dashboard) -> type[_Handler]:
    return type("DashboardHandler", (_Handler,), {"dashboard": dashboard})
