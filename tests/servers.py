"""A CouchDB-compatible server for the tests: the project's pouchdb-server, or any CouchDB.

``start_couch_server()`` uses ``DRWLAB_TEST_COUCHDB_URL`` when it is set (an
Apache CouchDB 3, say; it must answer), else starts
``node_modules/.bin/pouchdb-server`` on a free loopback port with its data in
a temporary directory. The returned ``CouchServer`` can be stopped and
started again on the same port and data (for outage tests) and emptied
between tests.

``auth_proxy()`` puts a password in front of a server: pouchdb-server 4.2
cannot take one itself (an authenticated request crashes it), and the
credential tests need a server that accepts a password, refuses a wrong one
and still answers 404 and 409.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
POUCHDB_SERVER = REPO_ROOT / "node_modules" / ".bin" / "pouchdb-server"
COUCHDB_SCRIPT = REPO_ROOT / "scripts" / "couchdb-server"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pouchdb_server_command(port: int, data_dir: Path, host: str = "127.0.0.1") -> list[str]:
    """The project's pouchdb-server on ``host:port``, through ``scripts/couchdb-server``.

    The script is the one place that knows the server's flags (its request log off).
    """
    return [str(COUCHDB_SCRIPT), "--host", host, str(port), str(data_dir)]


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by SIGKILL (Linux)."""
    # Not on Linux (no prctl): a killed test run may leave the server behind.
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1.0).status_code == 200
    except requests.RequestException:
        return False


class CouchServer:
    """A running CouchDB-compatible server at ``url`` (a context manager)."""

    def __init__(self, url: str, data_dir: Path | None = None, port: int | None = None) -> None:
        self.url = url
        self._data_dir = data_dir
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def is_ours(self) -> bool:
        """True when this process started the server (and can stop and restart it)."""
        return self._data_dir is not None

    # -- process -------------------------------------------------------------
    def _start(self) -> None:
        assert self._data_dir is not None and self._port is not None
        log_file = (self._data_dir / "stdout.log").open("ab")
        command = pouchdb_server_command(self._port, self._data_dir)
        with log_file:
            self._process = subprocess.Popen(
                command,
                cwd=self._data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"pouchdb-server exited with {self._process.returncode}: {self._log_tail()}"
                )
            if _answers(self.url):
                return
            time.sleep(0.1)
        self.pause()
        raise RuntimeError(f"pouchdb-server did not answer at {self.url} in {START_TIMEOUT:g} s")

    def _log_tail(self) -> str:
        assert self._data_dir is not None
        log_text = (self._data_dir / "stdout.log").read_text(errors="replace")
        return " | ".join(log_text.strip().splitlines()[-3:])

    def pause(self) -> None:
        """Stop the server process, keeping its data and port for ``resume``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def resume(self) -> None:
        """Start the server again on the same port with the same data."""
        if not self.is_ours:
            raise RuntimeError("cannot restart a server this process did not start")
        if self._process is None:
            self._start()

    def restart(self) -> None:
        """``pause`` then ``resume``: an outage that loses no data."""
        self.pause()
        self.resume()

    def stop(self) -> None:
        """Stop the server for good and remove its data (an external one is left alone)."""
        self.pause()
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)

    def logs(self) -> str:
        """What the server we started wrote: its log.txt, then its standard output."""
        assert self._data_dir is not None, "an external server's logs are not ours to read"
        files = [self._data_dir / "log.txt", self._data_dir / "stdout.log"]
        return "".join(path.read_text(errors="replace") for path in files if path.exists())

    # -- data ----------------------------------------------------------------
    def database_names(self) -> set[str]:
        """The server's non-system databases, as the server lists them (namespaces and all)."""
        names = requests.get(f"{self.url}/_all_dbs", timeout=30).json()
        return {name for name in names if not name.startswith("_")}

    def drop_all_databases(self) -> None:
        """Delete every non-system database."""
        with requests.Session() as session:
            names = session.get(f"{self.url}/_all_dbs", timeout=10).json()
            for name in names:
                if not name.startswith("_"):
                    quoted = quote(name, safe="")
                    session.delete(f"{self.url}/{quoted}", timeout=10).raise_for_status()

    def __enter__(self) -> CouchServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"CouchServer({self.url!r})"


def start_couch_server() -> CouchServer:
    """The server the CouchDB tests use; RuntimeError if there is none to be had."""
    external = os.environ.get("DRWLAB_TEST_COUCHDB_URL")
    if external:
        url = external.rstrip("/")
        if not _answers(url):
            raise RuntimeError("DRWLAB_TEST_COUCHDB_URL is set but the server does not answer")
        return CouchServer(url)
    if not POUCHDB_SERVER.exists():
        raise RuntimeError(f"{POUCHDB_SERVER} is missing: run `npm install` in {REPO_ROOT}")
    failures = []
    for _ in range(3):  # the free port may be taken before the server binds it
        port = _free_port()
        data_dir = Path(tempfile.mkdtemp(prefix="drwlab-couch-"))
        server = CouchServer(f"http://127.0.0.1:{port}", data_dir, port)
        try:
            server._start()
            return server
        except RuntimeError as error:
            failures.append(str(error))
            server.stop()
        except BaseException:
            server.stop()
            raise
    raise RuntimeError("pouchdb-server did not start: " + "; ".join(failures))


class _AuthProxyHandler(BaseHTTPRequestHandler):
    """Checks HTTP Basic credentials, then forwards the request without them
    (with the target's own instead, if its URL has some)."""

    protocol_version = "HTTP/1.1"
    server: _AuthProxyServer

    def _forward(self) -> None:
        if self.headers.get("Authorization") != self.server.expected_auth:
            self._answer(401, b'{"error":"unauthorized","reason":"Name or password is incorrect."}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("authorization", "host", "accept-encoding")
        }
        if self.server.target_auth:
            headers["Authorization"] = self.server.target_auth
        upstream = http.client.HTTPConnection(*self.server.target, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            reply = upstream.getresponse()
            self._answer(reply.status, reply.read())
        finally:
            upstream.close()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read logs and do not want the proxy's."""


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _AuthProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    expected_auth: str
    target: tuple[str, int]
    target_auth: str | None


@contextmanager
def auth_proxy(target_url: str, user: str, password: str) -> Iterator[str]:
    """The URL (without credentials) of a proxy to ``target_url`` that wants them."""
    proxy = _AuthProxyServer(("127.0.0.1", 0), _AuthProxyHandler)
    proxy.expected_auth = _basic(user, password)
    target = urlsplit(target_url)
    proxy.target = (target.hostname or "127.0.0.1", target.port or 80)
    proxy.target_auth = None
    if target.username:  # an external CouchDB's own credentials
        proxy.target_auth = _basic(unquote(target.username), unquote(target.password or ""))
    thread = threading.Thread(target=proxy.serve_forever, name="auth-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()
