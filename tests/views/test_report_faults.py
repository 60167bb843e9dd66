"""The faults injected, and how they healed, as a reader of the exported report finds them.

A run on each store meets a crash mid-message, an outage of the store and a poison
message (``drwlab.faults``); the report written afterwards is read as a person reads
it: table by table, caption, rows and cells.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from drwlab.bus import MessageBus
from drwlab.bus.message import DB
from drwlab.faults import UnreachableStore, crash_actor, fault_events, requeue
from drwlab.store.base import Store
from drwlab.views.report import write_report
from drwlab.wire import FAULTS_DB
from tests.bus.conftest import wait_until

LEASE = 1.0
ATTEMPTS = 2
FAULTS = "Faults injected (drwlab.faults)"
RETRIED = "Messages that met an error, and what became of them"
DEAD = "Dead letters"

Table = list[dict[str, str]]


class _Tables(HTMLParser):
    """Every ``<table class="data">`` of a page: its caption (without its count) -> rows,
    each row a dict from column title to cell text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, Table] = {}
        self._caption: str | None = None
        self._heads: list[str] = []
        self._row: list[str] | None = None
        self._text: list[str] | None = None
        self._in_caption = False
        self._in_count = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("class", "data") in attrs:
            self._caption, self._heads = "", []
        elif self._caption is None:
            return
        elif tag == "caption":
            self._in_caption = True
        elif tag == "span" and self._in_caption:
            self._in_count = True
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if self._caption is None:
            return
        if tag == "caption":
            self._in_caption = False
            self.tables[self._caption.strip()] = []
        elif tag == "span":
            self._in_count = False
        elif tag in ("th", "td") and self._text is not None and self._row is not None:
            (self._heads if tag == "th" else self._row).append("".join(self._text))
            self._text = None
        elif tag == "tr" and self._row:
            if len(self._row) == len(self._heads):  # not a "none" line
                self.tables[self._caption.strip()].append(
                    dict(zip(self._heads, self._row, strict=True))
                )
            self._row = None
        elif tag == "table":
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._in_caption and not self._in_count and self._caption is not None:
            self._caption += data
        elif self._text is not None:
            self._text.append(data)


def tables_of(path: Path) -> dict[str, Table]:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables


@pytest.fixture
def faulty_bus(store: Store) -> Iterator[MessageBus]:
    """A bus over a store that can be switched off, whose claims last a second."""
    opened = MessageBus(UnreachableStore(store), lease=LEASE, max_attempts=ATTEMPTS)
    try:
        yield opened
    finally:
        opened.close()


def _crash_mid_message(bus: MessageBus) -> str:
    """driver.a crashes holding a request; driver.b takes it once the lease ran out."""
    started, finished = threading.Event(), threading.Event()

    def slow(body: object) -> None:
        started.set()
        finished.wait(30)

    bus.listen("work", slow, name="driver.a-1")
    message_id = bus.send("work", {"ousUID": "uid://X1/X1/Xc0"})
    assert started.wait(10)
    bus.listen("work", lambda body: None, name="driver.b-1")
    crash_actor(bus, "driver.a")
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "done")
    finished.set()
    return message_id


def _outage(bus: MessageBus) -> None:
    store = bus.store
    assert isinstance(store, UnreachableStore)
    store.outage(0.3)
    assert store.wait_until_up(timeout=10)


def _poison(bus: MessageBus, fixed: threading.Event) -> str:
    """A message the handler cannot read until ``fixed``: a dead letter after two tries."""

    def ingest(body: dict[str, str]) -> None:
        if not fixed.is_set():
            raise ValueError(f"cannot read size {body['size']!r}")

    bus.listen("ingest.files", ingest, name="ingestor-1")
    message_id = bus.send("ingest.files", {"file": "X2.fits", "size": "2 kB"})
    wait_until(lambda: bus.store.get(DB, message_id)["state"] == "dead")
    return message_id


def test_a_report_shows_each_fault_and_the_dead_letters_errors(
    faulty_bus: MessageBus, tmp_path: Path
) -> None:
    crashed_id = _crash_mid_message(faulty_bus)
    _outage(faulty_bus)
    poison_id = _poison(faulty_bus, threading.Event())

    tables = tables_of(write_report(faulty_bus.store, tmp_path / "report.html"))

    events = fault_events(faulty_bus.store)
    crash, outage = tables[FAULTS]
    assert (crash["Fault"], crash["Actor"], crash["When"]) == (
        "crash",
        "driver.a",
        events[0]["timestamp"],
    )
    assert "driver.a-1" in crash["What"] and crashed_id in crash["What"]
    assert (outage["Fault"], outage["When"]) == ("outage", events[1]["timestamp"])
    assert f"from {events[1]['began']} to {events[1]['ended']}" in outage["What"]
    [dead] = tables[DEAD]
    assert dead["Message id"] == poison_id
    assert dead["Error"] == "ValueError: cannot read size '2 kB'"
    attempts = dead["Every attempt's error"].splitlines()
    assert [line.partition(" ")[2] for line in attempts] == [  # after each failure's time
        f"attempt {n}: ValueError: cannot read size '2 kB'" for n in range(1, ATTEMPTS + 1)
    ]
    healed = {row["Message id"]: row for row in tables[RETRIED]}
    assert healed[crashed_id]["State now"] == "done"
    assert healed[crashed_id]["Handled by"].startswith("driver.b-1@")
    assert "LeaseExpired: driver.a-1@" in healed[crashed_id]["Every attempt's error"]


def test_a_requeued_dead_letter_shows_its_requeue_and_its_handling(
    faulty_bus: MessageBus, tmp_path: Path
) -> None:
    fixed = threading.Event()
    poison_id = _poison(faulty_bus, fixed)
    fixed.set()
    requeue(faulty_bus, poison_id, by="a learner")
    wait_until(lambda: faulty_bus.store.get(DB, poison_id)["state"] == "done")

    tables = tables_of(write_report(faulty_bus.store, tmp_path / "report.html"))

    assert tables[DEAD] == []
    [event] = tables[FAULTS]
    assert (event["Fault"], event["Actor"]) == ("requeue", "a learner")
    assert poison_id in event["What"] and "ValueError: cannot read size" in event["What"]
    [row] = tables[RETRIED]
    assert (row["Message id"], row["State now"]) == (poison_id, "done")
    assert row["Handled by"].startswith("ingestor-1@")
    assert row["Re-queued"].startswith("re-queued by a learner at ")
    assert len(row["Every attempt's error"].splitlines()) == ATTEMPTS


def test_a_report_of_a_store_without_faults_has_them_empty(store: Store, tmp_path: Path) -> None:
    assert FAULTS_DB not in store.db_names()

    tables = tables_of(write_report(store, tmp_path / "report.html"))

    assert (tables[FAULTS], tables[RETRIED], tables[DEAD]) == ([], [], [])
    assert FAULTS_DB not in store.db_names()  # reading made nothing
