"""Serve a cache directory over HTTP, with listings, as the original's replicated cache did.

People browse the products directories and the expanded weblogs (``/weblogs/``)
of a cache with it. Nothing outside the root is ever served: ``http.server``
already drops ``..`` segments (encoded or not), and each request is also
checked on resolved real paths, so a symbolic link inside the cache pointing
outside it gets a 404 as well. Bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from drwlab.errors import CacheError

log = logging.getLogger(__name__)

_INDEX_FILES = ("index.html", "index.htm")


class _Handler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler confined to the real path of its directory."""

    def send_head(self) -> Any:
        path = self.translate_path(self.path)
        candidates = [path]
        if os.path.isdir(path):
            candidates += [os.path.join(path, index) for index in _INDEX_FILES]
        if "\0" in path or not all(self._inside(c) for c in candidates if os.path.lexists(c)):
            log.info(
                "%s: refused %r (outside the served directory)",
                self._log_name,
                self.path,
            )
            self.send_error(404, "File not found")
            return None
        return super().send_head()

    @property
    def _log_name(self) -> str:
        return getattr(self.server, "log_name", "cache")

    def _inside(self, path: str) -> bool:
        root = os.path.realpath(self.directory)
        real = os.path.realpath(path)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s: %s", self._log_name, self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log_name = "cache"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response is normal; never print tracebacks to stderr.
        log.debug("error serving %s", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class FileServer:
    """Serves ``root`` (with directory listings) on ``host:port`` in a daemon thread.

    ``port=0`` picks a free port; read it back from :attr:`url` or :attr:`port`
    after :meth:`start`. Use as a context manager or call start()/stop().
    """

    def __init__(
        self, root: Path, *, host: str = "127.0.0.1", port: int = 0, name: str = "cache"
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.requested_port = port
        self.name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve; CacheError if the root is not a directory or the port is taken."""
        if self._server is not None:
            return
        if not self.root.is_dir():
            raise CacheError(f"cannot serve {self.name}: {self.root} is not a directory")
        factory = functools.partial(_Handler, directory=str(self.root.resolve()))
        server_class = _Server6 if ":" in self.host else _Server
        try:
            server = server_class((self.host, self.requested_port), factory)
        except OSError as error:
            raise CacheError(
                f"cannot serve {self.name} on {self.host}:{self.requested_port}: {error}"
            ) from error
        server.log_name = self.name
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fileserver-{self.name}",
            daemon=True,
        )
        self._thread.start()
        log.info("serving %s (%s) at %s", self.name, self.root, self.url)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop serving: the thread is gone and the socket closed (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout)
        self._server = self._thread = None
        log.info("stopped serving %s", self.name)

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The bound port (the free one picked for ``port=0``)."""
        if self._server is None:
            raise CacheError(f"file server {self.name} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def __enter__(self) -> FileServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"FileServer({self.name!r}, {str(self.root)!r}, {state})"
