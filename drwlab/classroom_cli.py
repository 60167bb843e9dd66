"""``drwlab classroom``: the instructor's side of a class, from a terminal.

It runs ``drwlab.classroom.host_class`` on ``--store`` (the class's CouchDB)
until Ctrl-C or SIGTERM, prints where the caches and the dashboard are, and
then one line per QA2 decision as the learners take them (``ClassLog``: the
store's change feed wakes it, nothing polls). OUSs are put in front of the
class with ``drwlab launch``; learners join with
``drwlab run aqua-qa2 --reviewer NAME`` or ``nb.join_class`` (docs/classroom.md).

``cli.py`` owns the signal handling and calls ``start_class`` and
``ClassLog``; this module imports nothing of it. Like ``cli.py`` it imports the
sandbox only when the command runs, so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from drwlab.credentials import hide_password
from drwlab.lifecycle import EXECUTIVES
from drwlab.wire import DEFAULT_FAILURE_RATE, STATUS_DB

if TYPE_CHECKING:
    from drwlab.sandbox import Sandbox
    from drwlab.store import Store

logger = logging.getLogger(__name__)

FEED_WAIT = 1.0
"""Longest wait on the status change feed before looking at the stop event again."""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``classroom`` to the ``drwlab`` sub-commands; returns its parser."""
    p: argparse.ArgumentParser = commands.add_parser(
        "classroom", help="the instructor's side of a class: the workflow, learners review"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address of the caches and dashboard (learners')"
    )
    p.add_argument(
        "-e",
        "--executive",
        dest="executives",
        action="append",
        choices=EXECUTIVES,
        help="an executive with a pipeline driver (repeat; default EU)",
    )
    p.add_argument("--workdir", default=None, help="caches and runs (default: a fresh temp dir)")
    p.add_argument("--seed", type=int, default=None, help="seed of the mock pipeline")
    p.add_argument(
        "--failure-rate", type=float, default=DEFAULT_FAILURE_RATE, help="share of failing runs"
    )
    p.add_argument("-mr", "--max-runs", type=int, default=1, help="parallel runs per driver")
    p.add_argument("--lease", type=float, default=30.0, help="the actors' lease in seconds")
    return p


def start_class(
    args: argparse.Namespace, time_scale: float | None, out: TextIO = sys.stdout
) -> Sandbox:
    """The instructor's Sandbox on ``args.store``, as ``args`` asks; writes where it is."""
    from drwlab.classroom import host_class

    sandbox = host_class(
        args.store,
        workdir=Path(args.workdir) if args.workdir else None,
        time_scale=time_scale,
        seed=args.seed,
        failure_rate=args.failure_rate,
        executives=tuple(args.executives or ("EU",)),
        host=args.host,
        max_runs=args.max_runs,
        lease=args.lease,
    )
    out.write(f"class running on {hide_password(sandbox.store.url)}\n")
    out.writelines(f"  {name}: {url}\n" for name, url in sorted(sandbox.urls.items()))
    out.flush()
    return sandbox


class ClassLog:
    """Writes one line per QA2 decision taken in the class, as they come."""

    def __init__(self, store: Store, out: TextIO = sys.stdout) -> None:
        from drwlab.store.cursor import ChangeCursor

        self.store = store
        self.out = out
        self.feed = ChangeCursor(store, STATUS_DB)
        self.seen: set[tuple[str, str]] = set()

    def write_new(self) -> int:
        """Write the decisions not written yet; how many."""
        from drwlab.classroom import reviews

        table = reviews(self.store)
        written = 0
        for row in table[table["decision"] != ""].itertuples(index=False):
            key = (str(row.uid), str(row.started))
            if key in self.seen:
                continue
            self.seen.add(key)
            self.out.write(f"{row.decided} {row.uid}: {row.decision} by {row.reviewer}\n")
            written += 1
        self.out.flush()
        return written

    def follow(self, stop: threading.Event) -> None:
        """Write decisions until ``stop`` is set (or a signal interrupts the wait)."""
        while not stop.is_set():
            self.feed.mark()
            self.write_new()
            self.feed.wait(FEED_WAIT)
