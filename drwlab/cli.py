"""The ``drwlab`` command: one actor per OS process (the original's scripts), and a few tools.

A thin shim over the library: every command parses its arguments, builds the
same objects a notebook would, and runs them. ``drwlab run <actor>`` runs one
actor until Ctrl-C (SIGINT) or SIGTERM, then stops it cleanly and exits 0;
``drwlab run --actor package.module:Class --arg NAME=VALUE ...`` runs an actor
of yours the same way (``docs/actors.md``); ``drwlab --help`` lists the commands.
Wrong arguments print the usage and exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from drwlab import __version__
from drwlab.credentials import hide_password
from drwlab.errors import DrwlabError, InvalidMessage, NotFound, RpcTimeout
from drwlab.lifecycle import EXECUTIVES, QA2Flag
from drwlab.settings import Settings, from_environment
from drwlab.wire import DEFAULT_FAILURE_RATE, MAX_ATTEMPTS, time_scale_or_default

if TYPE_CHECKING:
    from drwlab.actors.aqua_qa2 import AquaQA2
    from drwlab.actors.base import Actor
    from drwlab.bus import MessageBus
    from drwlab.store import Store

log = logging.getLogger("drwlab.cli")

LIVENESS_CHECK = 1.0
"""Seconds between checks that a running actor is still alive."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, turned into what Ctrl-C raises so both stop an actor the same way."""


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread while inside."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def no_signals() -> Iterator[None]:
    """Ignore a second Ctrl-C or SIGTERM while an actor is stopping (the stop is bounded)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- running one actor ---------------------------------------------------------------
Build = Callable[["MessageBus", "Store", argparse.Namespace], "Actor"]
"""(bus, store, args) -> the actor to run."""


def _seconds(text: str) -> float:
    """A positive number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _attempts(text: str) -> int:
    """A whole number of deliveries, at least one (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run_actor(args: argparse.Namespace, build: Build) -> int:
    """Open the store and bus, run the actor until a signal, stop it; 0 on a clean stop."""
    from drwlab.bus import MessageBus
    from drwlab.store import open_store

    store: Store | None = None
    bus: MessageBus | None = None
    actor: Actor | None = None
    status = 0
    with stop_signals():
        try:
            store = open_store(args.store)
            bus = MessageBus(store, lease=args.lease, max_attempts=args.max_attempts)
            actor = build(bus, store, args)
            actor.start()
            log.info("%s running on %s; Ctrl-C to stop", actor.name, store.url)
            status = _foreground(actor, args)
        except KeyboardInterrupt as stopped:
            log.info("stopping on %s", stopped or "SIGINT")
        finally:
            with no_signals():  # a second Ctrl-C must not cut the clean stop short
                if actor is not None:
                    actor.stop(timeout=2.0)
                if bus is not None:
                    bus.close()
                if store is not None:
                    store.close()
    return status


def _foreground(actor: Actor, args: argparse.Namespace) -> int:
    """What the main thread does while the actor runs: a terminal UI, or watch it live."""
    foreground = getattr(args, "foreground", None)
    if foreground is not None:
        return int(foreground(actor, args))
    idle = threading.Event()  # never set: signals end the wait, by raising
    while actor.is_alive:
        idle.wait(LIVENESS_CHECK)
    log.error("%s stopped working: its threads died (see the log above)", actor.name)
    return 1


def _xtss(bus: MessageBus, store: Store, args: argparse.Namespace) -> Actor:
    from drwlab.actors.xtss import Xtss

    return Xtss(bus, store, strict=not args.lenient)


def _driver(bus: MessageBus, store: Store, args: argparse.Namespace) -> Actor:
    from drwlab.actors.pipeline_driver import PipelineDriver

    work_dir = args.work_dir or args.settings.workdir / "pipeline" / args.executive
    return PipelineDriver(
        bus,
        store,
        executive=args.executive,
        cache_dir=Path(args.cache).resolve(),
        work_dir=Path(work_dir).resolve(),
        max_runs=args.max_runs,
        time_scale=_time_scale(args),
        seed=args.seed,
        failure_rate=args.failure_rate,
    )


def _cache(bus: MessageBus, store: Store, args: argparse.Namespace) -> Actor:
    from drwlab.actors.replicated_cache import ReplicatedCache

    remotes = {ex: spec for ex, spec in (("EA", args.eac), ("EU", args.euc), ("NA", args.nac))}
    return ReplicatedCache(
        bus,
        store,
        executive=args.executive,
        cache_dir=Path(args.local_cache).resolve(),
        remotes={ex: spec for ex, spec in remotes.items() if spec},
        host=args.host,
        port=args.port,
    )


def _qa2(bus: MessageBus, store: Store, args: argparse.Namespace) -> Actor:
    from drwlab.actors.aqua_qa2 import AquaQA2

    cache_dir = args.local_cache or args.settings.workdir / "caches" / "JAO"
    if args.reviewer is not None and args.local_cache is None:
        cache_dir = None  # a learner in a class: the weblogs are at --cache-url
    return AquaQA2(
        bus,
        store,
        cache_dir=None if cache_dir is None else Path(cache_dir).resolve(),
        cache_url=args.cache_url,
        autopilot=args.autopilot,
        name=f"aqua-qa2.{args.reviewer}" if args.reviewer else "aqua-qa2",
        reviewer=args.reviewer,
    )


def _qa2_terminal(actor: AquaQA2, args: argparse.Namespace) -> int:
    """AQUA QA2's terminal UI in the foreground, until the user quits (or end of input).

    With --autopilot or --headless there is no UI: the actor runs until a signal.
    """
    if args.autopilot or args.headless:
        args.foreground = None
        return _foreground(actor, args)
    from drwlab.actors.aqua_tui import run_tui

    return run_tui(actor)


def _ingestor(bus: MessageBus, store: Store, args: argparse.Namespace) -> Actor:
    from drwlab.actors.product_ingestor import ProductIngestor

    return ProductIngestor(
        bus, store, cache_dir=Path(args.local_cache).resolve(), time_scale=_time_scale(args)
    )


def _tracker(bus: MessageBus, store: Store, args: argparse.Namespace) -> Actor:
    from drwlab.actors.data_tracker import DataTracker

    return DataTracker(bus, store, time_scale=_time_scale(args))


def cmd_run(args: argparse.Namespace) -> int:
    """``drwlab run ACTOR`` (a stock actor) or ``drwlab run --actor MODULE:CLASS`` (yours)."""
    if (args.actor is None) == (args.actor_class is None):
        args.run_parser.error("give one ACTOR, or --actor MODULE:CLASS")
    if args.actor_class is None:
        if args.actor_args:
            args.run_parser.error("--arg is for --actor: stock actors have their own options")
        return run_actor(args, args.build)
    return run_actor(args, _custom_builder(args))


def _custom_builder(args: argparse.Namespace) -> Build:
    """Find the class and check its arguments now, before any store is opened."""
    from drwlab.actors.loading import check_arguments, load_actor_class

    app_dir = str(Path(args.app_dir).resolve())
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    cls = load_actor_class(args.actor_class)
    arguments = dict(args.actor_args)
    check_arguments(cls, arguments)
    return lambda bus, store, _: cls(bus, store, **arguments)


def _actor_argument(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` of ``--arg``: VALUE as JSON when it parses (``2``, ``["EU"]``), else text."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"--arg wants NAME=VALUE, not {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _time_scale(args: argparse.Namespace) -> float:
    settings: Settings = args.settings
    return time_scale_or_default(args.time_scale, settings.time_scale)


# -- tools --------------------------------------------------------------------------
def cmd_launch(args: argparse.Namespace) -> int:
    """Create (or recreate) the OUS in ReadyForProcessing and send the processing request."""
    from drwlab.actors.launcher import Launcher
    from drwlab.bus import MessageBus
    from drwlab.store import open_store

    with open_store(args.store) as store, MessageBus(store) as bus:
        try:
            Launcher(bus, store).launch(
                args.prog_id, args.uid, recipe=args.recipe, executive=args.executive
            )
        except RpcTimeout as error:
            raise RpcTimeout(f"{error}: is `drwlab run xtss` running on {store.url}?") from None
    print(f"launched {args.uid} ({args.prog_id}, {args.recipe}) on {args.executive}")
    return 0


def _json_argument(text: str) -> Any:
    """A message body typed on the command line: JSON (``'{"a": 1}'``, ``'"text"'``, ``3``)."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error} (quote it for the shell)") from None


def cmd_send(args: argparse.Namespace) -> int:
    """Send one message (the original's ``send-message.py``); print its id."""
    from drwlab.bus import MessageBus
    from drwlab.store import open_store

    with open_store(args.store) as store, MessageBus(store) as bus:
        message_id = bus.send(args.selector, args.body, sender="drwlab-send")
    print(message_id)
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    """Call an RPC service (the original's ``send-rpc.py``); print the reply's body as JSON.

    A refusal prints the body too (what the original's clients would read) and, on
    stderr, the error drwlab's client raises; the exit status is then 1.
    """
    from drwlab.bus import MessageBus
    from drwlab.bus.rpc import decode_reply
    from drwlab.store import open_store

    with open_store(args.store) as store, MessageBus(store) as bus:
        try:
            reply = bus.request(args.selector, args.body, args.timeout, sender="drwlab-call")
        except RpcTimeout as error:
            raise RpcTimeout(f"{error}: is a server on {args.selector!r} running?") from None
    print(json.dumps(reply.get("body"), indent=2, sort_keys=True))
    decode_reply(reply, args.selector)  # raises the refusal, reported by main
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    """Empty every database and the given caches (what running actors need is kept)."""
    from drwlab.clearall import clear_all
    from drwlab.store import open_store

    with open_store(args.store) as store:
        clear_all(store, [Path(c) for c in args.caches], running=True)
        print(f"cleared the databases of {store.url} and {len(args.caches)} cache(s)")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C."""
    from drwlab.store import open_store
    from drwlab.views.dashboard import Dashboard

    links = dict(_link(text) for text in args.link)
    with open_store(args.store) as store:
        dashboard = Dashboard(store, host=args.host, port=args.port, links=links)
        try:
            with stop_signals():
                dashboard.start()
                print(f"dashboard of {store.url} at {dashboard.url}; Ctrl-C to stop", flush=True)
                threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            with no_signals():
                dashboard.stop(timeout=2.0)
    return 0


def cmd_classroom(args: argparse.Namespace) -> int:
    """The instructor's side of a class until Ctrl-C (drwlab.classroom_cli)."""
    from drwlab.classroom_cli import ClassLog, start_class

    sandbox = None
    try:
        with stop_signals():
            sandbox = start_class(args, _time_scale(args))
            ClassLog(sandbox.store).follow(threading.Event())
    except KeyboardInterrupt:
        pass
    finally:
        with no_signals():
            if sandbox is not None:
                sandbox.stop()
    return 0


def _link(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(f"--link wants NAME=URL, not {text!r}")
    return name, url


def cmd_report(args: argparse.Namespace) -> int:
    """Write the self-contained HTML report of the store."""
    from drwlab.store import open_store
    from drwlab.views.report import write_report

    with open_store(args.store) as store:
        path = write_report(store, Path(args.path))
    print(f"report written to {path}")
    return 0


def cmd_requeue(args: argparse.Namespace) -> int:
    """Put dead letters back in their queue, their cause fixed; without ids, list them."""
    from drwlab.bus import MessageBus
    from drwlab.faults import requeue
    from drwlab.store import open_store

    refused = 0
    with open_store(args.store) as store, MessageBus(store) as bus:
        if not args.ids:
            for doc in bus.dead_letters():
                print(f"{doc['_id']}  {doc.get('selector')}  {doc.get('error', '')}")
            return 0
        for message_id in args.ids:
            try:
                requeue(bus, message_id, by="drwlab requeue")
            except (InvalidMessage, NotFound) as error:
                print(f"drwlab requeue: {message_id}: {error}", file=sys.stderr)
                refused += 1
            else:
                print(f"re-queued {message_id}")
    return 1 if refused else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A headless run of N OUSs to Delivered (see drwlab.demo)."""
    from drwlab.demo import run_demo

    store = args.store_given or args.settings.store_url  # else the sandbox's own SQLite file
    return run_demo(
        n=args.n,
        store=store,
        workdir=args.workdir,
        time_scale=_time_scale(args),
        seed=args.seed,
        failure_rate=args.failure_rate,
        max_runs=args.max_runs,
        timeout=args.timeout,
    )


# -- parser ---------------------------------------------------------------------------
def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The whole command line: global options, ``run <actor>`` and the tools."""
    parser = argparse.ArgumentParser(
        prog="drwlab",
        description="ALMA Data Reduction Workflow sandbox: run actors, launch OUSs, demo.",
    )
    parser.add_argument("--version", action="version", version=f"drwlab {__version__}")
    parser.add_argument(
        "--store",
        default=None,
        help="store URL (default: DRWLAB_STORE or "
        + hide_password(settings.default_store_url).replace("%", "%%")
        + ")",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run(commands)
    _add_tools(commands)
    return parser


def _add_run(commands: Any) -> None:
    run = commands.add_parser("run", help="run one actor until Ctrl-C")
    run.add_argument(
        "--lease",
        type=_seconds,
        default=30.0,
        help="seconds a message this actor claimed stays its own; if the actor dies, "
        "another instance gets the message once they pass (default 30)",
    )
    run.add_argument(
        "--max-attempts",
        type=_attempts,
        default=MAX_ATTEMPTS,
        metavar="N",
        help="deliveries of a message before it is dead-lettered; a delivery whose actor "
        "died (its lease ran out) counts as one (default %(default)s)",
    )
    run.add_argument(
        "--actor",
        dest="actor_class",
        metavar="MODULE:CLASS",
        help="run your own Actor subclass (package.module:Class, see docs/actors.md) "
        "instead of a stock ACTOR",
    )
    run.add_argument(
        "--arg",
        dest="actor_args",
        action="append",
        type=_actor_argument,
        default=[],
        metavar="NAME=VALUE",
        help="a keyword argument of that class, VALUE read as JSON when it parses "
        '(2, true, ["EU","NA"]), else as text; repeat for more',
    )
    run.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="where MODULE is found, first on the import path (default: the current directory)",
    )
    actors = run.add_subparsers(dest="actor", metavar="ACTOR")

    p = actors.add_parser("xtss", help="the XTSS: state changes over RPC on 'xtss'")
    p.add_argument("--lenient", action="store_true", help="accept illegal transitions")
    p.set_defaults(build=_xtss)

    p = actors.add_parser("pipeline-driver", help="run the mock pipeline for one executive")
    p.add_argument("executive", choices=EXECUTIVES, help="where this driver runs")
    p.add_argument("cache", help="the replicating cache directory of that executive")
    p.add_argument("-mr", "--max-runs", type=int, default=1, help="parallel pipeline runs")
    p.add_argument(
        "--failure-rate",
        type=float,
        default=DEFAULT_FAILURE_RATE,
        help=f"share of failed runs (default {DEFAULT_FAILURE_RATE})",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed of the pipeline")
    p.add_argument("--work-dir", default=None, help="where pipeline runs write products")
    _add_time_scale(p)
    p.set_defaults(build=_driver)

    p = actors.add_parser("replicated-cache", help="an rsync-replicated cache with a web server")
    p.add_argument("-e", "--executive", choices=EXECUTIVES, required=True)
    p.add_argument("-lc", "--local-cache", required=True, help="the local cache directory")
    for ex in ("ea", "eu", "na"):
        p.add_argument(
            f"-{ex}c", f"--{ex}-cache", dest=f"{ex}c", help=f"rsync spec of the {ex.upper()} cache"
        )
    p.add_argument("-p", "--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    p.set_defaults(build=_cache)

    p = actors.add_parser("aqua-qa2", help="AQUA QA2: report listener and terminal UI")
    p.add_argument("-lc", "--local-cache", default=None, help="the JAO cache directory")
    p.add_argument("--cache-url", default=None, help="URL of the JAO cache (weblog links)")
    p.add_argument(
        "--autopilot",
        choices=[QA2Flag.PASS.value, QA2Flag.SEMIPASS.value, QA2Flag.FAIL.value],
        help="decide every review automatically (no terminal UI)",
    )
    p.add_argument(
        "--headless", action="store_true", help="no terminal UI: reviews happen elsewhere"
    )
    p.add_argument(
        "--reviewer",
        default=None,
        help="review as this person, in a class on a shared store (docs/classroom.md)",
    )
    p.set_defaults(build=_qa2, foreground=_qa2_terminal)

    p = actors.add_parser("product-ingestor", help="ingest products into NGAS")
    p.add_argument("local_cache", help="the JAO cache directory")
    _add_time_scale(p)
    p.set_defaults(build=_ingestor)

    p = actors.add_parser("data-tracker", help="set Delivered once every product is in NGAS")
    _add_time_scale(p)
    p.set_defaults(build=_tracker)
    run.set_defaults(func=cmd_run, run_parser=run)


def _add_time_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="multiplies simulated delays (default DRWLAB_TIME_SCALE or 1.0)",
    )


def _add_tools(commands: Any) -> None:
    p = commands.add_parser("launch", help="create an OUS and request its processing")
    p.add_argument("prog_id", metavar="PROGID")
    p.add_argument("uid", metavar="UID")
    p.add_argument("recipe", metavar="RECIPE", nargs="?", default="PipelineCalibration")
    p.add_argument("executive", metavar="EXEC", nargs="?", default="EU", choices=EXECUTIVES)
    p.set_defaults(func=cmd_launch)

    p = commands.add_parser("send", help="send one message (send-message.py)")
    p.add_argument("selector", metavar="SELECTOR", help="e.g. cached.JAO, or a group: name.*")
    p.add_argument("body", metavar="JSON", type=_json_argument, help="the message body")
    p.set_defaults(func=cmd_send)

    p = commands.add_parser("call", help="call an RPC service, print the reply (send-rpc.py)")
    p.add_argument("selector", metavar="SELECTOR", help="e.g. xtss")
    p.add_argument("body", metavar="JSON", type=_json_argument, help="the request body")
    p.add_argument(
        "--timeout", type=_seconds, default=10.0, metavar="S", help="seconds (default 10)"
    )
    p.set_defaults(func=cmd_call)

    p = commands.add_parser("reset", help="empty every database (and caches): clear-all")
    p.add_argument("--caches", nargs="*", default=[], metavar="DIR", help="cache dirs to empty")
    p.set_defaults(func=cmd_reset)

    p = commands.add_parser("dashboard", help="serve the dashboard web page")
    p.add_argument("-p", "--port", type=int, default=5000, help="HTTP port (default 5000)")
    p.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    p.add_argument("--link", action="append", default=[], metavar="NAME=URL")
    p.set_defaults(func=cmd_dashboard)

    p = commands.add_parser("report", help="write the HTML report of the store")
    p.add_argument("path", metavar="PATH")
    p.set_defaults(func=cmd_report)

    p = commands.add_parser("requeue", help="re-queue dead letters (no id: list them)")
    p.add_argument("ids", nargs="*", metavar="MESSAGE_ID")
    p.set_defaults(func=cmd_requeue)

    p = commands.add_parser("demo", help="N OUSs through to Delivered, QA2 on autopilot")
    p.add_argument("-n", type=int, default=5, help="how many OUSs (default 5)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--failure-rate", type=float, default=DEFAULT_FAILURE_RATE)
    p.add_argument("-mr", "--max-runs", type=int, default=1, help="parallel pipeline runs")
    p.add_argument("--workdir", default=None, help="default: a fresh temporary directory")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many s")
    _add_time_scale(p)
    p.set_defaults(func=cmd_demo)

    from drwlab import classroom_cli  # its module imports nothing heavy

    p = classroom_cli.add_parser(commands)
    _add_time_scale(p)
    p.set_defaults(func=cmd_classroom)

    from drwlab import namespaces_cli  # likewise

    namespaces_cli.add_parser(commands)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``drwlab`` and ``python -m drwlab``; returns the exit status."""
    settings = from_environment()
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    args.settings = settings
    args.store_given = args.store
    args.store = args.store or settings.default_store_url
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except (DrwlabError, ValueError, OSError) as error:
        print(f"drwlab: error: {error}", file=sys.stderr)
        return 1
