"""``drwlab namespaces``: the instructor's look at the namespaces on a class's server.

Each learner's notebook on a shared CouchDB lives in a namespace of its own,
made fresh at each run (``nb_20261207_063112_3fa2``) and dropped by
``stop_sandbox()``. A kernel killed first (a laptop closed, a server too busy
to answer at the stop) leaves its namespace behind. This command lists them
with their age, drops those named, or drops every fresh one older than some
hours; a namespace with a name of its own (``alice``) is dropped only when
named. Nothing outside namespaces (the original's layout at the top, other
applications' databases) is listed or touched.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any, TextIO

from drwlab.timeutil import utc_now


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``namespaces`` to the ``drwlab`` sub-commands; returns its parser."""
    p: argparse.ArgumentParser = commands.add_parser(
        "namespaces", help="list the namespaces on a CouchDB server; drop left-over ones"
    )
    p.add_argument("--drop", nargs="+", metavar="NAME", default=[], help="drop these namespaces")
    p.add_argument(
        "--drop-older-than",
        type=float,
        metavar="HOURS",
        default=None,
        help="drop every namespace a notebook made more than HOURS ago",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """List, or drop as ``args`` asks; 1 if a namespace to drop was not there."""
    # imported here, as cli.py does, so that building the parser stays cheap
    from drwlab.store import drop_namespace, server_namespaces
    from drwlab.store.namespace import check_namespace, left_over, split_namespace, with_namespace

    doomed = [check_namespace(name) for name in args.drop]  # the arguments, before the server
    if args.drop_older_than is not None and args.drop_older_than < 0:
        raise ValueError(f"--drop-older-than takes hours >= 0, not {args.drop_older_than}")
    found = server_namespaces(args.store, settings=args.settings)
    if not args.drop and args.drop_older_than is None:
        _list(found, out)
        return 0
    if args.drop_older_than is not None:
        age = timedelta(hours=args.drop_older_than)
        doomed += [name for name in left_over(found, age, utc_now()) if name not in doomed]
    if not doomed:
        out.write("no namespace to drop\n")
    server, _namespace = split_namespace(args.store)
    missing = 0
    for name in doomed:
        if name not in found:
            err.write(f"drwlab namespaces: no namespace {name!r} on the server\n")
            missing += 1
            continue
        dropped = drop_namespace(with_namespace(server, name), settings=args.settings)
        out.write(f"dropped {name} ({len(dropped)} databases)\n")
    return 1 if missing else 0


def _list(found: dict[str, list[str]], out: TextIO) -> None:
    from drwlab.store.namespace import made_at

    if not found:
        out.write("no namespaces on the server\n")
        return
    width = max(len("namespace"), *(len(name) for name in found))
    out.write(f"{'namespace':<{width}}  databases  made (UTC)\n")
    for name, dbs in found.items():
        made = made_at(name)
        when = made.strftime("%Y-%m-%d %H:%M:%S") if made else "-"
        out.write(f"{name:<{width}}  {len(dbs):>9}  {when}\n")
