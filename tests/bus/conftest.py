"""Fixtures of the bus tests: a bus on each backend's store, closed after the test."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from drwlab.bus import MessageBus
from drwlab.store import ChangesPage, Doc, Store


@pytest.fixture
def bus(store: Store) -> Iterator[MessageBus]:
    """A bus with quick retries; every listener it started is stopped afterwards."""
    opened = MessageBus(store, lease=5.0, max_attempts=3, retry_delay=0.05)
    try:
        yield opened
    finally:
        opened.close()


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Return once ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


def bus_threads() -> list[str]:
    """Names of the bus's threads still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("drwlab-")]


def count_queries(store: Store, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count from now on the queries for pending messages answered by ``store``, per selector.

    Counted as each answer comes back, so a count of one means a first look is over.
    """
    looked_for: Counter[str] = Counter()
    find = store.find

    def counting_find(db: str, selector: Mapping[str, Any], **options: Any) -> list[Doc]:
        answer = find(db, selector, **options)
        if selector.get("consumed") is False:
            looked_for[str(selector.get("selector"))] += 1
        return answer

    monkeypatch.setattr(store, "find", counting_find)
    return looked_for


def hide_documents_from_the_feed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``store``'s followed feed carry no documents, as a feed that cannot read them:
    the bus must then go by message ids and queries."""
    follow = store.follow_changes

    def follow_without_docs(*args: Any, **options: Any) -> Iterator[ChangesPage | None]:
        for page in follow(*args, **options):
            if page is not None:
                page = replace(page, changes=[replace(c, doc=None) for c in page.changes])
            yield page

    monkeypatch.setattr(store, "follow_changes", follow_without_docs)
