"""Execute the teaching notebooks and export each to HTML whose widgets render offline.

``python -m tools.notebook_export NOTEBOOKS_DIR OUT_DIR`` (what ``./dev reports`` runs
from the repository's root; a build tool, so not part of the installed package) executes
every ``*.ipynb`` of NOTEBOOKS_DIR in a fresh kernel (in its own directory, with a
timeout on every cell) and writes ``OUT_DIR/NAME.html`` with the widget state embedded.
Nobody is there to click, so the kernels run with ``DRWLAB_AUTOPILOT=1`` (the QA2
notebook presses its own buttons) and, unless ``DRWLAB_TIME_SCALE`` is set, in the fast
mode of the test command (``wire.FAST_TIME_SCALE``).

By default nbconvert's HTML loads require.js, MathJax, MermaidJS and the widget
renderer from CDNs, so an exported notebook shows empty widgets offline. Here the
renderer (``@jupyter-widgets/html-manager``'s ``dist/``) and ``require.js`` come from
the project's ``node_modules`` (``npm ci``) and are copied next to the HTML, and
MathJax and MermaidJS are left out (the notebooks use neither). ``find_network_refs``
checks the result: no ``src``/``href`` may point to a remote host, in the page or
inside the embedded widget state. Links to 127.0.0.1 (the run's own servers, dead
once the run ends) are allowed and logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drwlab.settings import from_environment
from drwlab.wire import FAST_TIME_SCALE

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 180.0
"""Seconds a single cell may run before the export fails."""

RENDERER_DIR = Path("@jupyter-widgets/html-manager/dist")
REQUIRE_JS = Path("requirejs/require.js")
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
URL_ATTRIBUTES = frozenset({"src", "href", "srcset", "action", "data", "poster", "formaction"})

# The lab template minus the CDN scripts the notebooks do not need.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_TEMPLATE_NAME = "drwlab_offline.html.j2"


@dataclass(frozen=True)
class Export:
    """One exported notebook: where it came from, where it went, and what it holds."""

    notebook: Path
    html: Path
    has_widget_state: bool


def find_node_modules(start: Path) -> Path:
    """The nearest ``node_modules`` holding the widget renderer, at or above ``start``
    or else at or above this package (a source checkout).

    Raises FileNotFoundError (saying to run ``npm ci``) when there is none.
    """
    here = Path(__file__).resolve().parent
    for base in (start.resolve(), here):
        for folder in (base, *base.parents):
            candidate = folder / "node_modules"
            if (candidate / RENDERER_DIR / "embed-amd.js").is_file():
                return candidate
    raise FileNotFoundError(
        f"no node_modules with {RENDERER_DIR}/embed-amd.js above {start} or {here}; "
        "run `npm ci` in the project (./dev reports does)"
    )


def copy_offline_assets(node_modules: Path, out_dir: Path) -> None:
    """Copy the widget renderer (embed-amd.js, its chunks and fonts) and require.js."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in sorted((node_modules / RENDERER_DIR).iterdir()):
        if item.is_file() and not item.name.endswith(".map"):
            shutil.copy2(item, out_dir / item.name)
    shutil.copy2(node_modules / REQUIRE_JS, out_dir / "require.js")


def execute_notebook(path: Path, *, timeout: float, env: Mapping[str, str] | None = None) -> Any:
    """Run every cell of the notebook at ``path`` in a fresh python3 kernel, in its folder.

    ``timeout`` bounds each cell (a hung cell fails the export instead of hanging it);
    ``env``, when given, is the kernel's whole environment. Returns the executed
    notebook, with the widget state stored in its metadata.
    """
    # nbclient and nbconvert are test/report dependencies: imported only when exporting.
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=int(timeout),
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    if env is None:
        client.execute()
    else:
        client.execute(env=dict(env))
    return notebook


def export_html(notebook: Any, out_path: Path) -> None:
    """Write ``notebook`` as HTML that loads require.js and the renderer from its folder."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_TEMPLATE_NAME,
        require_js_url="require.js",
        widget_renderer_url="embed-amd.js",
        mathjax_url="",
    )
    body, _ = exporter.from_notebook_node(notebook)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(body, encoding="utf-8")


class _UrlCollector(HTMLParser):
    """Collects URL-valued attributes, and the HTML inside ``srcdoc`` and widget state."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.nested_html: list[str] = []
        self._in_state = False
        self._state_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif name == "srcdoc":
                self.nested_html.append(value)
        self._in_state = tag == "script" and dict(attrs).get("type") == WIDGET_STATE_MIME

    def handle_data(self, data: str) -> None:
        if self._in_state:
            self._state_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._in_state and tag == "script":
            self._in_state = False
            state = json.loads("".join(self._state_text))
            self._state_text.clear()
            self.nested_html.extend(s for s in _strings(state) if "<" in s)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    if parts.scheme in ("", "data", "blob", "javascript", "mailto", "about"):
        return bool(url.strip().startswith("//"))
    return True


def _all_urls(html: str) -> list[str]:
    collector = _UrlCollector()
    collector.feed(html)
    collector.close()
    urls = list(collector.urls)
    for nested in collector.nested_html:
        urls.extend(_all_urls(nested))
    return urls


def find_network_refs(html: str) -> list[str]:
    """Every ``src``/``href`` of ``html`` (and of the HTML its widget state holds) that
    points to a remote host; loopback URLs (the run's own servers) are not counted."""
    remote = [url for url in _all_urls(html) if _is_remote(url)]
    loopback = [url for url in remote if urlsplit(url).hostname in LOOPBACK_HOSTS]
    if loopback:
        log.info("links to the run's own loopback servers: %s", sorted(set(loopback)))
    return [url for url in remote if url not in loopback]


def export_notebooks(
    source_dir: Path,
    out_dir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    names: Sequence[str] | None = None,
    node_modules: Path | None = None,
) -> list[Export]:
    """Execute and export the notebooks of ``source_dir`` (all, or those in ``names``).

    Raises FileNotFoundError without the renderer in node_modules, nbclient's
    CellExecutionError/CellTimeoutError when a notebook fails, and RuntimeError
    when an export would load something from the network.
    """
    node_modules = node_modules or find_node_modules(source_dir)
    copy_offline_assets(node_modules, out_dir)
    paths = sorted(source_dir.glob("*.ipynb"))
    if names is not None:
        paths = [path for path in paths if path.name in names or path.stem in names]
    exports = []
    for path in paths:
        log.info("executing %s", path)
        notebook = execute_notebook(path, timeout=timeout, env=env)
        html_path = out_dir / f"{path.stem}.html"
        export_html(notebook, html_path)
        html = html_path.read_text(encoding="utf-8")
        remote = find_network_refs(html)
        if remote:
            raise RuntimeError(f"{html_path} refers to the network: {sorted(set(remote))}")
        exports.append(Export(path, html_path, WIDGET_STATE_MIME in html))
        log.info("wrote %s", html_path)
    return exports


def _kernel_environment(time_scale: float | None) -> dict[str, str]:
    """This process's environment for the kernels, with the autopilot on (nobody is
    there to click in an unattended run) and the fast mode unless a scale is set."""
    settings = from_environment()
    scale = time_scale if time_scale is not None else settings.time_scale
    env = dict(os.environ)
    env["DRWLAB_AUTOPILOT"] = "1"
    env["DRWLAB_TIME_SCALE"] = str(FAST_TIME_SCALE if scale is None else scale)
    return env


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tools.notebook_export NOTEBOOKS OUT [...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, help="folder of .ipynb files")
    parser.add_argument("out", type=Path, help="folder for the HTML files and their scripts")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per cell")
    parser.add_argument("--time-scale", type=float, default=None, help="DRWLAB_TIME_SCALE")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names to export")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        exports = export_notebooks(
            args.notebooks,
            args.out,
            timeout=args.timeout,
            env=_kernel_environment(args.time_scale),
            names=args.only,
        )
    except (FileNotFoundError, RuntimeError) as error:
        log.error("%s", error)
        return 1
    for export in exports:
        log.info(
            "%s -> %s (widget state: %s)", export.notebook, export.html, export.has_widget_state
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
