"""What the cross-host test asks from inside a host: ``python -m tests.hosts.probe ...``.

The test process lives in the machine's own network, where the hosts' /24
does not exist; it runs this module inside a host (``ip netns exec``) to
look at the store or at a web page the way a program on that host would.
Each command waits a bounded time, prints JSON on stdout and exits 0 when
what it waited for came true, 1 when the time ran out (the JSON then says
what it saw last).

    http URL --timeout S                 GET URL until 200: {"status", "body"}
    tcp HOST PORT --timeout S            until a TCP connection is accepted
    states STORE STATE UID... --any|--all --timeout S
                                         until any/all OUSs are in STATE: {uid: state}
    summary STORE                        what the store holds (counts, see summary())
    launch STORE UID... --executive EX   launch each OUS in turn: {"seconds": [each launch's]}
    entities STORE UID...                the OUSs' status entities: {"entities": [...]}
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import requests

from drwlab.store import ChangesPage, open_store

POLL = 0.2
ENDED = object()
PROG = "2015.1.00657.S"


def http(url: str, timeout: float) -> tuple[bool, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] = {}
    while True:
        try:
            reply = requests.get(url, timeout=5)
            seen = {"status": reply.status_code, "body": reply.text}
            if reply.status_code == 200:
                return True, seen
        except requests.RequestException as error:
            seen = {"error": str(error)}
        if time.monotonic() > deadline:
            return False, seen
        time.sleep(POLL)


def tcp(host: str, port: int, timeout: float) -> tuple[bool, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=2):
                return True, {"connected": f"{host}:{port}"}
        except OSError as error:
            if time.monotonic() > deadline:
                return False, {"error": str(error)}
        time.sleep(POLL)


def states(
    store_url: str, state: str, uids: Sequence[str], every: bool, timeout: float
) -> tuple[bool, dict[str, Any]]:
    """Read the OUSs once, then follow the status entities' feed with their documents:
    one request and one open connection however many OUSs and changes."""
    deadline = time.monotonic() + timeout
    with open_store(store_url) as store:
        since = store.current_seq("status-entities")
        wanted = set(uids)
        seen: dict[str, Any] = dict.fromkeys(uids)
        for entity in store.find("status-entities", {"entityId": {"$in": list(uids)}}):
            seen[entity["entityId"]] = entity.get("state")
        feed = None
        try:
            while True:
                matches = [s == state for s in seen.values()]
                if all(matches) if every else any(matches):
                    return True, seen
                if time.monotonic() > deadline:
                    return False, seen
                if feed is None:  # at first, and again if the server ended it
                    feed = store.follow_changes(
                        "status-entities", since, heartbeat=POLL, limit=1000, include_docs=True
                    )
                page = next(feed, ENDED)
                if page is ENDED:
                    feed = None
                    continue
                if not isinstance(page, ChangesPage):  # a heartbeat
                    continue
                since = page.last_seq
                for change in page.changes:
                    doc = change.doc or {}
                    if doc.get("entityId") in wanted:
                        seen[doc["entityId"]] = doc.get("state")
        finally:
            getattr(feed, "close", lambda: None)()  # a generator: closes its connection


def summary(store_url: str) -> tuple[bool, dict[str, Any]]:
    """Per OUS: its state, NGAS files, metadata records, deliveries, pipeline reports;
    and the messages not done (unread, claimed, dead)."""
    with open_store(store_url) as store:
        per_ous: dict[str, Counter[str]] = {}
        for db, key in (
            ("ngas", "ousUID"),
            ("products-metadata", "ousUID"),
            ("delivery-status", "ousUID"),
            ("pipeline-reports", "ousUID"),
        ):
            for doc in store.all_docs(db):
                per_ous.setdefault(str(doc.get(key)), Counter())[db] += 1
        entities = {d["_id"]: d["state"] for d in store.all_docs("status-entities")}
        messages = Counter(
            "dead" if m.get("state") == "dead" else "busy" if not m.get("consumed") else "done"
            for m in store.all_docs("msgq")
        )
        return True, {
            "states": entities,
            "per_ous": {uid: dict(counts) for uid, counts in per_ous.items()},
            "messages": dict(messages),
        }


def launch(store_url: str, uids: Sequence[str], executive: str) -> tuple[bool, dict[str, Any]]:
    """Launch the OUSs one after the other, as ``drwlab launch`` does, from one process."""
    from drwlab.actors.launcher import Launcher
    from drwlab.bus import MessageBus

    seconds = []
    with open_store(store_url) as store, MessageBus(store) as bus:
        launcher = Launcher(bus, store)
        for uid in uids:
            began = time.monotonic()
            launcher.launch(PROG, uid, recipe="PipelineCalibration", executive=executive)
            seconds.append(time.monotonic() - began)
    return True, {"seconds": seconds}


def entities(store_url: str, uids: Sequence[str]) -> tuple[bool, dict[str, Any]]:
    with open_store(store_url) as store:
        found = store.find("status-entities", {"entityId": {"$in": list(uids)}})
    return True, {"entities": found}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="probe")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("http")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=30.0)
    p = commands.add_parser("tcp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=30.0)
    p = commands.add_parser("states")
    p.add_argument("store")
    p.add_argument("state")
    p.add_argument("uids", nargs="+")
    p.add_argument("--all", action="store_true", help="every OUS (default: any)")
    p.add_argument("--timeout", type=float, default=60.0)
    p = commands.add_parser("summary")
    p.add_argument("store")
    p = commands.add_parser("launch")
    p.add_argument("store")
    p.add_argument("uids", nargs="+")
    p.add_argument("--executive", default="EU")
    p = commands.add_parser("entities")
    p.add_argument("store")
    p.add_argument("uids", nargs="+")
    args = parser.parse_args(argv)
    seen: Any
    if args.command == "http":
        done, seen = http(args.url, args.timeout)
    elif args.command == "tcp":
        done, seen = tcp(args.host, args.port, args.timeout)
    elif args.command == "states":
        done, seen = states(args.store, args.state, args.uids, args.all, args.timeout)
    elif args.command == "launch":
        done, seen = launch(args.store, args.uids, args.executive)
    elif args.command == "entities":
        done, seen = entities(args.store, args.uids)
    else:
        done, seen = summary(args.store)
    json.dump(seen, sys.stdout)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
