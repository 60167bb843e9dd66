"""Exported notebooks (``./dev reports``) keep their widgets and load nothing from the network."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tools.notebook_export import (
    WIDGET_STATE_MIME,
    export_notebooks,
    find_network_refs,
    find_node_modules,
)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A small notebook with a live view of a real store, a button and some HTML.
CELLS = [
    "# A small notebook\n\nA live table and a button, exported offline.",
    "from drwlab.store import open_store, sqlite_url\n"
    "from drwlab.notebook import live_tables\n"
    "store = open_store(sqlite_url('small.db'))\n"
    "store.put('status-entities', {'_id': 'uid___X1_X1_Xb0', 'entityId': 'uid://X1/X1/Xb0',\n"
    "          'state': 'Delivered', 'timestamp': '2018-07-19T08:50:10.228'})\n"
    "view = live_tables(store, ['status-entities'])\n"
    "view",
    "import ipywidgets as w\n"
    "button = w.Button(description='Pass')\n"
    "button.add_class('drwlab-exported-button')\n"
    "button",
    "view.stop()\nstore.close()",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small notebook executed and exported into an ``out`` folder."""
    folder = tmp_path_factory.mktemp("export")
    v4: Any = nbformat.v4  # nbformat ships no type hints
    notebook = v4.new_notebook()
    notebook.cells = [v4.new_markdown_cell(CELLS[0])] + [v4.new_code_cell(c) for c in CELLS[1:]]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, folder / "small.ipynb")  # type: ignore[no-untyped-call]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    exports = export_notebooks(folder, folder / "out", timeout=60, env=env)
    assert [export.html.name for export in exports] == ["small.html"]
    yield folder / "out"


def test_the_export_embeds_the_widget_state(exported: Path) -> None:
    html = (exported / "small.html").read_text(encoding="utf-8")
    assert WIDGET_STATE_MIME in html
    assert "uid://X1/X1/Xb0" in html  # the live table's value, inside the widget state


def test_the_export_loads_its_scripts_from_its_own_folder(exported: Path) -> None:
    html = (exported / "small.html").read_text(encoding="utf-8")
    assert find_network_refs(html) == []
    assert '<script src="require.js">' in html
    assert "'embed-amd.js'" in html
    for name in ("require.js", "embed-amd.js", "libembed-amd.js"):
        assert (exported / name).is_file(), name


def test_remote_references_are_found_in_the_page_and_in_widget_state() -> None:
    state = {"state": {"1": {"state": {"value": '<img src="https://cdn.example/x.png">'}}}}
    page = (
        '<script src="https://cdnjs.example/require.js"></script>'
        '<iframe srcdoc="&lt;a href=&quot;//evil.example/&quot;&gt;x&lt;/a&gt;"></iframe>'
        '<a href="http://127.0.0.1:8001/weblogs/">the run\'s own weblog server</a>'
        '<a href="stage1.html">relative</a><img src="data:image/png;base64,AAAA">'
        f'<script type="{WIDGET_STATE_MIME}">{json.dumps(state)}</script>'
    )
    assert sorted(find_network_refs(page)) == [
        "//evil.example/",
        "https://cdn.example/x.png",
        "https://cdnjs.example/require.js",
    ]


def test_the_renderer_is_found_in_the_project_node_modules() -> None:
    assert find_node_modules(ROOT / "notebooks") == ROOT / "node_modules"


@pytest.mark.browser
def test_the_exported_widgets_render_offline(exported: Path) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto((exported / "small.html").as_uri())
            button = page.locator("button.jupyter-button.drwlab-exported-button")
            button.wait_for(timeout=30_000)
            assert button.inner_text() == "Pass"
            table = page.locator(".drwlab-live-status-entities")
            assert "uid://X1/X1/Xb0" in table.inner_text(timeout=10_000)
        finally:
            browser.close()
    assert [url for url in requests if not url.startswith("file:")] == []
