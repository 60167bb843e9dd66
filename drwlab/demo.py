"""``drwlab demo``: N OUSs through the whole life-cycle, headless, QA2 on autopilot.

A Sandbox with AQUA answering Pass; every state change is printed as it
happens, an OUS that ends in ProcessingProblem is launched again (as the
seed's README advises), and a final table shows where each OUS ended.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drwlab.lifecycle import State
from drwlab.sandbox import Sandbox
from drwlab.store import Store
from drwlab.store.cursor import ChangeCursor
from drwlab.wire import DEFAULT_FAILURE_RATE, STATUS_DB

log = logging.getLogger(__name__)

PROG_ID = "2015.1.00657.S"
MAX_LAUNCHES = 5
"""Launches per OUS before the demo gives up on it (each fails with ``failure_rate``)."""


def demo_uids(store: Store, n: int) -> list[str]:
    """``uid://X1/X1/Xb0`` ... as in the seed's "Going to the movies".

    On a store that already knows those OUSs (a shared CouchDB) the next free
    batch is taken: ``uid://X1/X2/Xb0`` ... (a delivered OUS cannot be relaunched).
    """
    for batch in itertools.count(1):
        uids = [f"uid://X1/X{batch}/Xb{i}" for i in range(n)]
        if store.count(STATUS_DB, {"entityId": {"$in": uids}}) == 0:
            return uids
    raise AssertionError("unreachable")


def run_demo(
    *,
    n: int,
    store: str | None = None,
    workdir: str | Path | None = None,
    time_scale: float = 1.0,
    seed: int | None = None,
    failure_rate: float = DEFAULT_FAILURE_RATE,
    max_runs: int = 1,
    timeout: float = 600.0,
    out: Callable[[str], Any] = print,
) -> int:
    """Run the demo; 0 when every OUS was Delivered within ``timeout`` s, else 1."""
    if n < 1:
        raise ValueError(f"the demo needs at least one OUS, not {n}")
    sandbox = Sandbox(
        store, workdir, time_scale, seed, failure_rate, autopilot="Pass", max_runs=max_runs
    )
    with sandbox as sb:
        uids = demo_uids(sb.store, n)
        out(f"work dir {sb.workdir}; store {sb.store.url}")
        for name, url in sb.urls.items():
            out(f"  {name}: {url}")
        started = time.monotonic()
        launches = {uid: 0 for uid in uids}
        for uid in uids:
            sb.launch(PROG_ID, uid)
            launches[uid] += 1
        final = _follow(sb, launches, started + timeout, out)
        _table(final, launches, time.monotonic() - started, out)
    return 0 if all(d.get("state") == State.DELIVERED.value for d in final.values()) else 1


def _follow(
    sb: Sandbox, launches: dict[str, int], deadline: float, out: Callable[[str], Any]
) -> dict[str, dict[str, Any]]:
    """Print state changes until every OUS rests; relaunch ProcessingProblems."""
    seen: dict[str, tuple[Any, Any]] = {}
    latest: dict[str, dict[str, Any]] = {}
    feed = ChangeCursor(sb.store, STATUS_DB)
    while time.monotonic() < deadline:
        feed.mark()  # before looking: a change landing meanwhile ends the wait below
        for doc in sb.store.find(STATUS_DB, {"entityId": {"$in": list(launches)}}):
            uid = doc["entityId"]
            latest[uid] = doc
            now = (doc.get("state"), doc.get("substate"))
            if seen.get(uid) != now:
                seen[uid] = now
                out(f"{uid:<20} {now[0]}{'/' + now[1] if now[1] else ''}")
            if now[0] == State.PROCESSING_PROBLEM.value and launches[uid] < MAX_LAUNCHES:
                out(f"{uid:<20} launched again ({doc.get('problem')})")
                sb.launch(doc["progID"], uid)
                launches[uid] += 1
        if len(latest) == len(launches) and all(_resting(d, launches) for d in latest.values()):
            break
        feed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
    return latest


def _resting(doc: dict[str, Any], launches: dict[str, int]) -> bool:
    state = doc.get("state")
    if state == State.DELIVERED.value:
        return True
    return state == State.PROCESSING_PROBLEM.value and launches[doc["entityId"]] >= MAX_LAUNCHES


def _table(
    final: dict[str, dict[str, Any]],
    launches: dict[str, int],
    elapsed: float,
    out: Callable[[str], Any],
) -> None:
    out("")
    out(f"{'OUS':<20} {'state':<20} {'launches':>8} {'changes':>8}")
    for uid, count in launches.items():
        doc = final.get(uid, {})
        changes = len(doc.get("history") or [])
        out(f"{uid:<20} {doc.get('state', '?'):<20} {count:>8} {changes:>8}")
    delivered = sum(d.get("state") == State.DELIVERED.value for d in final.values())
    out(f"{delivered}/{len(launches)} delivered in {elapsed:.1f} s")
