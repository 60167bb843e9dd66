"""What pouchdb-server spends on one request of each kind the workflow sends.

    .venv/bin/python bench/server_costs.py [--requests 200]

Starts the project's pouchdb-server (``tests/servers.py``) and measures its CPU
time from /proc around ``--requests`` requests of each kind, one at a time on
one connection:

- simple requests on a database of 600 documents of about 700 bytes (``GET``
  of the server, of the database's info, of a document, of a missing one;
  ``HEAD``; ``PUT`` of a new document; ``_bulk_docs`` of one; ``_all_docs``
  with six keys; ``_changes?since=now``; a ``_find`` on an indexed field);
- one write with 0 and 7 continuous feeds open on its database, with and
  without documents (what each actor process's bus watcher costs the server);
- the bus listeners' query for pending messages, with 300 and 3,000 handled
  messages in ``msgq`` and the bus's indexes.

Prints milliseconds of server CPU (and wall time) per request. The figures
of bench/README.md ("The CouchDB path") come from here.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.across_hosts import process_cpu  # noqa: E402
from tests.servers import start_couch_server  # noqa: E402

HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
FEEDS = 7
"""Continuous feeds opened at once: one per actor process of the scale-out deployment."""
SETTLE = 1.0
"""Seconds for the feeds to be open, and to have sent what a write made them send."""


class Server:
    """The server, a session to it, and ``measure``: its CPU per call of a request."""

    def __init__(self, url: str, pid: int, count: int) -> None:
        self.url = url
        self.pid = pid
        self.count = count
        self.session = requests.Session()

    def send(self, method: str, where: str, body: Any = None, **params: Any) -> Any:
        data = None if body is None else json.dumps(body)
        reply = self.session.request(
            method, self.url + where, data=data, params=params, headers=HEADERS, timeout=60
        )
        return reply.json() if reply.content and method != "HEAD" else None

    def measure(self, name: str, request: Callable[[int], object], settle: float = 0.0) -> None:
        cpu, began = process_cpu(self.pid), time.monotonic()
        for i in range(self.count):
            request(i)
        time.sleep(settle)
        cpu_ms = (process_cpu(self.pid) - cpu) / self.count * 1000
        wall_ms = (time.monotonic() - began - settle) / self.count * 1000
        print(f"  {name:<58} server CPU {cpu_ms:6.2f} ms   wall {wall_ms:6.2f} ms")


def simple_requests(server: Server) -> None:
    print("one request of each kind (database of 600 documents):")
    server.send("PUT", "/db")
    server.send("POST", "/db/_index", {"index": {"fields": ["state"]}})
    history = [{"state": "x" * 50}] * 10
    docs = [{"_id": f"d{i}", "state": f"S{i % 10}", "history": history} for i in range(600)]
    server.send("POST", "/db/_bulk_docs", {"docs": docs})
    keys = {"keys": [f"d{j}" for j in range(6)]}
    wanted = {"selector": {"state": {"$eq": "S1"}}}
    server.send("POST", "/db/_find", wanted)  # builds the index
    server.measure("GET /", lambda i: server.send("GET", "/"))
    server.measure("GET db (info)", lambda i: server.send("GET", "/db"))
    server.measure("GET db/<id>", lambda i: server.send("GET", f"/db/d{i}"))
    server.measure("GET db/<missing id>", lambda i: server.send("GET", f"/db/no{i}"))
    server.measure("HEAD db/<id>", lambda i: server.send("HEAD", f"/db/d{i}"))
    server.measure("PUT db/<new id>", lambda i: server.send("PUT", f"/db/n{i}", {"v": i}))
    server.measure(
        "POST db/_bulk_docs, one document",
        lambda i: server.send("POST", "/db/_bulk_docs", {"docs": [{"_id": f"b{i}"}]}),
    )
    server.measure(
        "POST db/_all_docs, 6 keys with their documents",
        lambda i: server.send("POST", "/db/_all_docs", keys, include_docs="true"),
    )
    server.measure(
        "GET db/_changes?since=now",
        lambda i: server.send("GET", "/db/_changes", since="now", limit=1),
    )
    server.measure(
        "POST db/_find, indexed equality, 60 of 600 found",
        lambda i: server.send("POST", "/db/_find", wanted),
    )


def _follow(url: str, include_docs: bool, stop: threading.Event) -> None:
    params = {"feed": "continuous", "since": "now", "heartbeat": 1000}
    if include_docs:
        params["include_docs"] = "true"
    with requests.get(
        f"{url}/feeds/_changes", params=params, headers=HEADERS, stream=True, timeout=30
    ) as reply:
        for _ in reply.iter_lines(chunk_size=None):
            if stop.is_set():
                return


def writes_under_feeds(server: Server) -> None:
    print(f"one write (a 700-byte message) with {FEEDS} continuous feeds open, or none:")
    server.send("PUT", "/feeds")
    body = {"selector": "x", "body": {"a": "b" * 500}}
    written = iter(range(10**9))
    for feeds, include_docs in ((0, False), (FEEDS, False), (FEEDS, True)):
        stop = threading.Event()
        threads = [
            threading.Thread(target=_follow, args=(server.url, include_docs, stop), daemon=True)
            for _ in range(feeds)
        ]
        for thread in threads:
            thread.start()
        time.sleep(SETTLE)
        server.measure(
            f"PUT, {feeds} feeds" + (" with documents" if include_docs else ""),
            lambda i: server.send("PUT", f"/feeds/m{next(written)}", body),
            settle=SETTLE,
        )
        stop.set()
        server.send("PUT", f"/feeds/m{next(written)}", {})  # wakes the feeds to see stop
        for thread in threads:
            thread.join(5)


def pending_queries(server: Server) -> None:
    print("the listeners' query for pending messages (msgq with the bus's indexes):")
    server.send("PUT", "/msgq")
    for fields in (["selector", "consumed", "creationTimestamp"], ["selector", "state"]):
        server.send("POST", "/msgq/_index", {"index": {"fields": fields}})
    query = {
        "selector": {
            "selector": {"$eq": "s1"},
            "consumed": {"$eq": False},
            "creationTimestamp": {"$exists": True},
        }
    }
    stored = 0
    for total in (300, 3000):
        handled = [
            {
                "_id": f"m{i:06}",
                "selector": f"s{i % 10}",
                "consumed": True,
                "state": "done",
                "creationTimestamp": f"2026-12-07T00:00:{i:06}",
                "body": {"x": "y" * 300},
            }
            for i in range(stored, total)
        ]
        for start in range(0, len(handled), 500):
            server.send("POST", "/msgq/_bulk_docs", {"docs": handled[start : start + 500]})
        stored = total
        server.send("POST", "/msgq/_find", query)  # brings the index up to date
        server.measure(
            f"POST msgq/_find, {total} handled messages",
            lambda i: server.send("POST", "/msgq/_find", query),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="of each kind (default 200)")
    args = parser.parse_args()
    couch = start_couch_server()
    try:
        if couch._process is None:
            raise SystemExit("needs the project's own pouchdb-server (DRWLAB_TEST_COUCHDB_URL set)")
        server = Server(couch.url, couch._process.pid, args.requests)
        simple_requests(server)
        writes_under_feeds(server)
        pending_queries(server)
    finally:
        couch.stop()


if __name__ == "__main__":
    main()
