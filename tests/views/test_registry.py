"""A table added to the registry shows up everywhere tables are shown, with no other edit."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Sequence
from typing import Any

import pytest

from drwlab.notebook.live import live_tables
from drwlab.store.base import Doc, Store
from drwlab.views import tables
from drwlab.views.dashboard import Dashboard
from drwlab.views.registry import TABLES, TableSpec
from drwlab.views.report import render_report
from drwlab.wire import NGAS_DB

BIG = 500


def big_files(docs: Sequence[Doc]) -> list[dict[str, Any]]:
    big = [doc for doc in docs if int(doc.get("size") or 0) > BIG]
    return [{"file": doc["fileId"], "bytes": doc["size"]} for doc in big]


SPEC = TableSpec(
    name="big-files",
    caption="NGAS files over 500 bytes",
    db=NGAS_DB,
    fields=("fileId", "size"),
    columns=("file", "bytes"),
    rows=big_files,
    headers={"file": "File", "bytes": "Bytes"},
)


@pytest.fixture
def with_big_files(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The registry with one more table, and a store with one big and one small file."""
    monkeypatch.setitem(TABLES, SPEC.name, SPEC)
    store.put(NGAS_DB, {"_id": "huge.data", "fileId": "huge.data", "size": 4096})
    store.put(NGAS_DB, {"_id": "tiny.data", "fileId": "tiny.data", "size": 12})
    return store


def test_the_snapshot_reads_a_registered_table(with_big_files: Store) -> None:
    snap = tables.snapshot(with_big_files)
    assert snap["big-files"].to_dict("records") == [{"file": "huge.data", "bytes": 4096}]
    assert snap.to_json()["tables"]["big-files"] == [{"file": "huge.data", "bytes": 4096}]


def test_a_registered_table_is_on_the_dashboard_page(with_big_files: Store) -> None:
    with (
        Dashboard(with_big_files) as dashboard,
        urllib.request.urlopen(dashboard.url, timeout=10) as response,
    ):
        page = response.read().decode()
    section = page.split('id="big-files">', 1)[1].split("</table>", 1)[0]
    assert "NGAS files over 500 bytes" in section
    assert "huge.data" in section and "tiny.data" not in section


def test_a_registered_table_is_in_the_report(with_big_files: Store) -> None:
    report = render_report(with_big_files)
    section = report.split("NGAS files over 500 bytes", 1)[1].split("</table>", 1)[0]
    assert "huge.data" in section and "tiny.data" not in section


def test_a_registered_table_is_a_live_notebook_table(with_big_files: Store) -> None:
    view = live_tables(with_big_files, ["big-files"], rest=0.05)
    try:
        part = view.parts["big-files"]
        deadline = time.monotonic() + 10
        while "huge.data" not in part.value:
            assert time.monotonic() < deadline, "the live table never showed the file"
            time.sleep(0.02)
        assert "NGAS files over 500 bytes" in part.value and "tiny.data" not in part.value
    finally:
        view.stop()
