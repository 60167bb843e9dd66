"""A consumer process for the multi-process bus tests.

    python -m tests.bus.worker STORE_URL SELECTOR RESULTS_FILE [--threads N] [--lease S]
                               [--hang] [--work SECONDS] [--go FILE]

Writes ``ready`` to RESULTS_FILE, waits for the file ``--go`` to exist (if
given), then starts N listeners on SELECTOR and appends each handled body to
RESULTS_FILE (one line each, written at once so a killed process leaves a
complete record), then sleeps ``--work`` seconds, or for good with ``--hang``
(to be killed). Runs until terminated.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from drwlab.bus import MessageBus
from drwlab.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("selector")
    parser.add_argument("results")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--work", type=float, default=0.0, help="seconds each message takes")
    parser.add_argument("--go", type=Path)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    fd = os.open(args.results, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def handler(body: Any) -> None:
        with lock:
            os.write(fd, f"{body}\n".encode())
        time.sleep(3600 if args.hang else args.work)

    store = open_store(args.url)
    bus = MessageBus(store, lease=args.lease)
    os.write(fd, b"ready\n")
    while args.go is not None and not args.go.exists() and not stop.is_set():
        time.sleep(0.005)
    for n in range(args.threads):
        bus.listen(args.selector, handler, name=f"worker{os.getpid()}-{n}")
    stop.wait()
    bus.close(timeout=10)  # let requests in flight finish: the server outlives us
    store.close()
    os.close(fd)


if __name__ == "__main__":
    main()
