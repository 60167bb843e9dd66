"""The HTTP conversation with a CouchDB-compatible server, for ``couchdb.py``.

One pooled ``requests`` transport adapter shared by every thread: its
connection pool is thread-safe. Requests are prepared here and handed to the
adapter, not sent through ``Session.request``: a session merges its settings
into every request, reads and writes its cookie jar and follows redirects,
about 0.45 ms of CPU per request on these machines (bench/README.md), and the
store needs none of it (its settings are fixed when it opens, a CouchDB
server answers a store's requests with no redirect, and credentials go in a
header, never a cookie). A lock would serialise the long-polls that wait for
changes.

Credentials come from the URL or the arguments and go only into the HTTP
``Authorization`` header: ``url``, log lines and exception messages show
``user:***``. Messages are built here rather than taken from ``requests``
(whose own name URLs), and raised ``from None``.

HTTP statuses map onto the error tree: 404 NotFound, 409 Conflict, 400
InvalidQuery where the request was a query, 5xx and unreachable servers
StoreUnavailable, refused credentials and anything else StoreError.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from drwlab.crashpoints import crash_deferred
from drwlab.credentials import redacted, split_credentials
from drwlab.errors import Conflict, InvalidQuery, NotFound, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    # pouchdb-server gzips when asked (requests asks by default): a continuous feed
    # then sits in the compressor instead of arriving line by line, and on the
    # loopback or a LAN compressing costs the server more than it saves
    "Accept-Encoding": "identity",
}
POOL_SIZE = 32
"""Pooled connections: enough for ~20 threads each holding a long-poll or a request."""
CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection (at most the store's timeout)."""


def path(*segments: str) -> str:
    """``/db/doc`` from names quoted whole: ``group:x`` and ``a/b`` stay one segment."""
    return "".join("/" + quote(segment, safe="") for segment in segments)


def is_read_timeout(error: requests.RequestException) -> bool:
    """True for a read timeout, also one hit while reading the body (pouchdb-server
    sends the headers of a long-poll at once, so its timeout comes mid-body)."""
    if isinstance(error, requests.ReadTimeout):
        return True
    cause = error.args[0] if error.args else None
    cause = getattr(cause, "reason", cause)  # urllib3 may wrap it in MaxRetryError
    return isinstance(cause, ReadTimeoutError)


def _never_sent(error: requests.RequestException) -> bool:
    """True if the connection was never made, so the server saw nothing."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    cause = error.args[0] if error.args else None
    cause = getattr(cause, "reason", cause)  # urllib3 wraps it in MaxRetryError
    return isinstance(cause, NewConnectionError)


def _worth_resending(method: str, where: str, error: requests.RequestException) -> bool:
    """Sent once more: a request that never left, or a read (no write happens
    twice) that lost its connection, not its patience."""
    if _never_sent(error):
        return True
    reads = method in ("GET", "HEAD") or where.endswith("/_find")
    dropped = isinstance(error, requests.ConnectionError) and not (
        isinstance(error, requests.Timeout) or is_read_timeout(error)
    )
    return reads and dropped


def _new_adapter() -> HTTPAdapter:
    # No retries inside urllib3 (``call`` resends what is safe to, and urllib3
    # would log a warning per retry while the server is down); read=False lets
    # a read timeout surface as itself, which wait_for_change counts on.
    retry = Retry(total=0, read=False, redirect=0)
    return HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE, max_retries=retry)


def _headers(base: str, user: str | None, password: str | None) -> dict[str, str]:
    """Every request's headers, with the Basic credentials of the arguments or ~/.netrc."""
    headers = {**_HEADERS, "User-Agent": requests.utils.default_user_agent()}
    credentials = requests.utils.get_netrc_auth(base) if user is None else (user, password or "")
    if credentials is None:
        return headers
    probe = PreparedRequest()
    probe.headers = CaseInsensitiveDict()
    HTTPBasicAuth(*credentials)(probe)
    return {**headers, "Authorization": probe.headers["Authorization"]}


def _query_string(params: Mapping[str, Any]) -> str:
    """``params`` as requests would encode them (a None value left out)."""
    return urlencode([(key, value) for key, value in params.items() if value is not None])


def reason(response: requests.Response) -> str:
    """The server's own ``error: reason`` (never contains credentials)."""
    try:
        answer = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(answer, dict) and "error" in answer:
        return f"{answer['error']}: {answer.get('reason', '')}"
    return response.reason or ""


class CouchConnection:
    """Requests to the server at ``url`` (``user``/``password`` if the URL has none)."""

    def __init__(self, url: str, *, user: str | None, password: str | None, timeout: float) -> None:
        base, url_user, url_password = split_credentials(url)
        if url_user is not None:
            user, password = url_user, url_password
        self._base = base
        self.url = redacted(base, user, password)
        self.connect_timeout = min(CONNECT_TIMEOUT, timeout)
        self.timeout = timeout
        # What requests would read from the environment at every request (proxies,
        # a CA bundle, ~/.netrc: os.environ scanned twice and the netrc files looked
        # for each time) is read once here.
        self._proxies = requests.utils.get_environ_proxies(base)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        https = base.lower().startswith("https:")
        self._verify: bool | str = bundle if bundle and https else True
        self._headers = _headers(base, user, password)
        self._adapter = _new_adapter()
        self._couchdb: bool | None = None
        log.debug("CouchDB store at %s", self.url)

    def send(
        self,
        method: str,
        where: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        read_timeout: float | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One request; requests' own exceptions pass through (see ``call``).

        An injected crash waits for its end: split, it could leave a connected
        socket that no connection owns (see ``drwlab.crashpoints``).
        """
        request = PreparedRequest()
        request.method = method
        request.url = self._base + where + (f"?{_query_string(params)}" if params else "")
        request.headers = CaseInsensitiveDict(self._headers)
        if body is not None:
            request.body = json.dumps(body).encode()
            request.headers["Content-Length"] = str(len(request.body))
        elif method not in ("GET", "HEAD"):
            request.headers["Content-Length"] = "0"
        with crash_deferred():
            response = self._adapter.send(
                request,
                stream=stream,
                timeout=(self.connect_timeout, read_timeout or self.timeout),
                verify=self._verify,
                proxies=self._proxies,
            )
            if not stream:
                response.content  # noqa: B018 -- the body is read here, so its errors are this call's
            return response

    def call(self, operation: str, method: str, where: str, **kwargs: Any) -> requests.Response:
        """``send``, with failures to reach the server raised as StoreUnavailable.

        A read that finds its pooled connection closed by the server (idle
        keep-alive ending just then) is sent once more on a fresh one.
        """
        try:
            return self.send(method, where, **kwargs)
        except requests.RequestException as error:
            if not _worth_resending(method, where, error):
                self.unavailable(operation, error)
        try:
            return self.send(method, where, **kwargs)
        except requests.RequestException as error:
            self.unavailable(operation, error)

    def poll(
        self, operation: str, where: str, params: Mapping[str, Any], read_timeout: float
    ) -> requests.Response | None:
        """A long-poll GET, like ``call``; None when ``read_timeout`` passes unanswered."""
        for attempt in (1, 2):
            try:
                return self.send("GET", where, params=params, read_timeout=read_timeout)
            except requests.RequestException as error:
                if is_read_timeout(error):
                    return None
                if attempt == 2 or not _worth_resending("GET", where, error):
                    self.unavailable(operation, error)
        return None

    def stream(
        self, operation: str, where: str, params: Mapping[str, Any], read_timeout: float
    ) -> requests.Response | None:
        """A GET whose body is read as it comes (``lines``); the caller closes it.

        None if no answer starts within ``read_timeout`` (a proxy that buffers
        whole answers never starts one that has no end).
        """
        try:
            return self.send("GET", where, params=params, read_timeout=read_timeout, stream=True)
        except requests.RequestException as error:
            if is_read_timeout(error):
                return None
            self.unavailable(operation, error)

    def lines(self, operation: str, response: requests.Response) -> Iterator[bytes]:
        """The lines of a streamed body as they arrive (an empty one per heartbeat).

        Ends when the server closes the body or sends nothing within the read
        timeout; a connection that breaks raises StoreUnavailable.
        """
        try:
            yield from response.iter_lines(chunk_size=None)
        except requests.RequestException as error:
            if not is_read_timeout(error):
                self.unavailable(operation, error)

    def json(self, operation: str, method: str, where: str, **kwargs: Any) -> Any:
        """The decoded answer of a request that must succeed (2xx)."""
        response = self.call(operation, method, where, **kwargs)
        self.check(operation, response)
        return self.decode(operation, response)

    def query(self, operation: str, method: str, where: str, **kwargs: Any) -> Any:
        """Like ``json``, a 400 (a query the server refuses) raising InvalidQuery."""
        response = self.call(operation, method, where, **kwargs)
        if response.status_code == 400:
            raise InvalidQuery(f"{operation}: {reason(response)}")
        self.check(operation, response)
        return self.decode(operation, response)

    def decode(self, operation: str, response: requests.Response) -> Any:
        """The JSON object of a 2xx answer; StoreUnavailable if it is not one.

        A proxy's maintenance page, or a body whose encoding header was lost,
        must not surface as ``requests``' own JSONDecodeError: callers (the bus
        watcher among them) treat store errors as "retry later", anything else
        as a bug.
        """
        try:
            answer = json.loads(response.content)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise StoreUnavailable(
                f"{operation}: {self.url} answered {response.status_code} with a body "
                f"that is not JSON ({kind})"
            ) from None
        if not isinstance(answer, (dict, list)):
            raise StoreUnavailable(
                f"{operation}: {self.url} answered {type(answer).__name__}, not a JSON object"
            )
        return answer

    def check(self, operation: str, response: requests.Response) -> None:
        """Raise the error a non-2xx ``response`` stands for."""
        status = response.status_code
        if status < 300:
            return
        why = reason(response)
        if status >= 500:
            raise StoreUnavailable(f"{operation}: {self.url} answered {status} {why}")
        if status == 404:
            raise NotFound(f"{operation}: not found ({why})")
        if status == 409:
            raise Conflict(f"{operation}: stale or missing revision ({why})")
        if status in (401, 403):
            raise StoreError(f"{operation}: {self.url} refused the credentials ({status})")
        raise StoreError(f"{operation}: {self.url} answered {status} {why}")

    def unavailable(self, operation: str, error: requests.RequestException) -> NoReturn:
        """Raise StoreUnavailable for ``error``, naming the redacted URL only."""
        if isinstance(error, requests.Timeout) or is_read_timeout(error):
            what = f"did not answer within {self.timeout:g} s"
        else:
            what = f"cannot be reached ({type(error).__name__})"
        message = f"{operation}: {self.url} {what}"
        log.debug("%s", message)
        raise StoreUnavailable(message) from None

    def is_couchdb(self) -> bool:
        """True for Apache CouchDB, False for pouchdb-server (asked once)."""
        if self._couchdb is None:
            welcome = self.json("identify the server", "GET", "/")
            self._couchdb = isinstance(welcome, dict) and "couchdb" in welcome
        return self._couchdb

    def close(self) -> None:
        self._adapter.close()
