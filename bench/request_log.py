"""Each HTTP request a process sends, with its time, written when the process exits.

For ``bench/across_hosts.py``, whose actors are separate ``drwlab`` processes on
several hosts: ``bench/hosts_traffic/sitecustomize.py`` calls ``start`` in every
Python process of that run. The project's pouchdb-server logs no request (its
request log cost a fifth of its CPU per request, bench/README.md), so the
requests are counted where they are sent, by wrapping ``requests``' transport
adapter as ``bench/traffic.py`` does in one process. Each process writes
``<pid>.json``: its network namespace (which host it ran on), its command line
(for a look by hand at one process's requests) and, per request, the wall-clock
time, the method and the URL, so that the benchmark counts only those of its
timed window, by route (``PUT msgq/<id>``...).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from requests.adapters import HTTPAdapter

from bench.traffic import route


def start(directory: Path) -> None:
    """Record this process's requests from now on; write them to ``directory`` at exit."""
    # list.append is atomic: the actors' threads share it. The route is made from the
    # method and URL when the file is read, not here, on the actors' every request.
    sent: list[tuple[float, str, str]] = []
    original_send = HTTPAdapter.send

    def send(adapter: HTTPAdapter, request: Any, **kwargs: Any) -> Any:
        sent.append((time.time(), str(request.method), str(request.url)))
        return original_send(adapter, request, **kwargs)

    def write() -> None:
        record = {"net": os.readlink("/proc/self/ns/net"), "argv": sys.orig_argv, "sent": sent}
        (directory / f"{os.getpid()}.json").write_text(json.dumps(record))

    HTTPAdapter.send = send  # type: ignore[method-assign]
    atexit.register(write)


def namespace_of(name: str) -> str:
    """``net:[inode]`` of the network namespace ``name`` (as /proc/<pid>/ns/net reads)."""
    return f"net:[{os.stat(f'/run/netns/{name}').st_ino}]"


def requests_between(
    directory: Path, hosts: Mapping[str, str], start: float, end: float
) -> Counter[str]:
    """``host: route`` -> requests sent in [start, end] (wall clock), from the files
    the processes wrote; ``hosts`` maps a namespace (``namespace_of``) to a host's name."""
    counts: Counter[str] = Counter()
    for record in _records(directory):
        host = hosts.get(record["net"], record["net"])
        for at, method, url in record["sent"]:
            if start <= at <= end:
                counts[f"{host}: {route(method, url)}"] += 1
    return counts


def _records(directory: Path) -> Iterable[dict[str, Any]]:
    for path in sorted(directory.glob("*.json")):
        yield json.loads(path.read_text())
