"""The dashboard server: its three paths, 404s, live updates by SSE, idleness and stop()."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from drwlab.faults import record_fault
from drwlab.lifecycle import State
from drwlab.store.base import Store
from drwlab.views.dashboard import Dashboard
from drwlab.wire import STATUS_DB
from tests.views.wire import delivered_ous, status_doc

A, B = "uid://X1/X1/Xa1", "uid://X1/X1/Xb2"
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def dashboard(store: Store) -> Iterator[Dashboard]:
    with Dashboard(store, links={"EU cache": "http://127.0.0.1:8000/"}) as running:
        yield running


def get(dashboard: Dashboard, path: str) -> tuple[int, dict[str, str], bytes]:
    """A raw GET (no client-side path normalisation, so traversal reaches the server)."""
    address = urlsplit(dashboard.url)
    conn = http.client.HTTPConnection(str(address.hostname), address.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class EventStream:
    """A client of /events that reads one SSE event at a time, with a deadline."""

    def __init__(self, dashboard: Dashboard) -> None:
        address = urlsplit(dashboard.url)
        self.sock = socket.create_connection((str(address.hostname), int(address.port or 80)), 10)
        self.sock.sendall(
            b"GET /events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n"
        )
        self.file = self.sock.makefile("rb")
        status = self.file.readline().decode()
        headers = []
        while (line := self.file.readline().decode()) not in ("\r\n", "\n", ""):
            headers.append(line.lower())
        assert " 200 " in status
        assert any(h.startswith("content-type: text/event-stream") for h in headers)

    def next_update(self, timeout: float) -> dict[str, Any]:
        self.sock.settimeout(timeout)
        data = None
        while True:
            line = self.file.readline().decode()
            if not line:
                raise ConnectionError("the event stream ended")
            if line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
            elif line == "\n" and data is not None:
                return data

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_the_page_shows_the_board_tables_and_links(store: Store, dashboard: Dashboard) -> None:
    delivered_ous(store, A)
    store.put(STATUS_DB, status_doc(B, [State.PROCESSING]))

    status, headers, body = get(dashboard, "/")

    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for caption in ("ObsUnitSets status entities", "Pipeline reports", "Delivery status"):
        assert caption in page
    for caption in ("Unread messages", "NGAS documents", "Products metadata"):
        assert caption in page
    assert "Dead letters" in page and "Actor liveness" in page
    assert 'href="http://127.0.0.1:8000/"' in page
    assert A in page and B in page
    assert "<script src" not in page and "<link" not in page


def test_the_snapshot_endpoint_answers_json(store: Store, dashboard: Dashboard) -> None:
    delivered_ous(store, A)

    status, headers, body = get(dashboard, "/api/snapshot")

    data = json.loads(body)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert data["board"]["Delivered"][0]["uid"] == A
    assert data["tables"]["status-entities"][0]["state"] == "Delivered"


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "//etc/passwd",
        "/etc/passwd",
        "/api/../../etc/passwd",
        "/index.html",
        "/api/snapshot/..",
    ],
)
def test_any_other_path_is_a_404(dashboard: Dashboard, path: str) -> None:
    status, _, body = get(dashboard, path)

    assert status == 404
    assert b"root:" not in body


def test_values_are_escaped_on_the_page(store: Store, dashboard: Dashboard) -> None:
    doc = status_doc(A, [State.READY_FOR_PROCESSING], executive=EVIL)
    store.put(STATUS_DB, dict(doc, entityId=EVIL))

    page = get(dashboard, "/")[2].decode()

    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_open_page_gets_the_change_within_a_second_or_two(
    store: Store, dashboard: Dashboard
) -> None:
    stream = EventStream(dashboard)
    try:
        first = stream.next_update(timeout=5)
        assert A not in first["fragments"]["board"]

        written = time.monotonic()
        store.put(STATUS_DB, status_doc(A, [State.READY_FOR_PROCESSING]))
        update = stream.next_update(timeout=5)

        assert time.monotonic() - written < 2.0
        assert A in update["fragments"]["board"]
        assert "ngas" not in update["fragments"]  # only what changed is sent
    finally:
        stream.close()


def test_nothing_is_rendered_while_nothing_changes(store: Store, dashboard: Dashboard) -> None:
    delivered_ous(store, A)
    stream = EventStream(dashboard)
    try:
        stream.next_update(timeout=5)
        get(dashboard, "/")
        get(dashboard, "/api/snapshot")
        renders = dashboard.render_count

        time.sleep(1.5)  # idle: the watcher waits, nobody renders
        get(dashboard, "/")

        assert dashboard.render_count == renders
        store.put(STATUS_DB, status_doc(B, [State.PROCESSING]))
        stream.next_update(timeout=5)
        assert dashboard.render_count == renders + 1
    finally:
        stream.close()


def test_stop_ends_every_thread_even_with_a_page_open(store: Store) -> None:
    before = set(threading.enumerate())
    dashboard = Dashboard(store).start()
    stream = EventStream(dashboard)
    stream.next_update(timeout=5)

    started = time.monotonic()
    dashboard.stop(timeout=1.0)

    assert time.monotonic() - started < 2.0
    deadline = time.monotonic() + 2.0
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(threading.enumerate()) - before == set()
    stream.close()
    with pytest.raises(RuntimeError):
        _ = dashboard.url


def test_an_open_page_shows_the_first_fault_once_it_is_recorded(
    store: Store, dashboard: Dashboard
) -> None:
    stream = EventStream(dashboard)
    try:
        first = stream.next_update(timeout=5)
        assert "Faults injected" in first["fragments"]["fault-events"]  # empty, not an error

        record_fault(store, "crash", actor="pipeline-driver.EU", listeners=[], held=[], lease=5)
        update = stream.next_update(timeout=5)

        assert "pipeline-driver.EU" in update["fragments"]["fault-events"]
    finally:
        stream.close()
