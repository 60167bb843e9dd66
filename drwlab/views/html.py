"""HTML fragments: the board, each registered table, links, weblog frames, verdicts.

The dashboard page, the exported report and the notebook's ``widgets.HTML``
all build their markup here, so they look alike and escape alike: every value
that came from a document goes through :func:`esc` (uids, selectors and
message bodies are user input), weblog pages included. Pure: data in, text
out. The CSS is one string, inlined by each page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import pandas as pd

from drwlab.glossary import tooltip_html
from drwlab.lifecycle import State
from drwlab.qa import qa_band
from drwlab.views.registry import CELL_CLASSES, TABLES, TableSpec
from drwlab.views.tables import Board, Snapshot, plain

STATE_COLORS: dict[str, str] = {
    State.FULLY_OBSERVED.value: "#cfd8dc",
    State.READY_FOR_PROCESSING.value: "#90caf9",
    State.PROCESSING.value: "#42a5f5",
    State.PROCESSING_PROBLEM.value: "#ef5350",
    State.READY_FOR_REVIEW.value: "#ffcc80",
    State.REVIEWING.value: "#ffa726",
    State.VERIFIED.value: "#aed581",
    State.DELIVERY_IN_PROGRESS.value: "#fff176",
    State.DELIVERED.value: "#66bb6a",
}
"""One color per life-cycle state, shared by the board, the diagram and the timeline."""

UNKNOWN_COLOR = "#bdbdbd"

STYLE = """
body { font-family: Verdana, "DejaVu Sans", sans-serif; margin: 1em; color: #212121; }
h1 { margin: 0 0 .3em 0; }
h2 { margin: 1.2em 0 .4em 0; font-size: 1.2em; }
th { text-align: left; padding: 3px 6px; }
td { padding: 3px 6px; vertical-align: top; }
caption { font-size: larger; font-style: italic; font-weight: bold; }
.tables { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.table-div { border: 1px solid gray; margin: 4px 0; padding: 2px; overflow-x: auto; }
.wide { width: 100%; }
.board-scroll { overflow-x: auto; max-width: 100%; }
.board { min-width: 100%; border-collapse: collapse; }
.board th { font-size: .85em; border-bottom: 3px solid #ccc; white-space: nowrap; }
.board td { padding: 2px; }
.card { border-left: 4px solid #999; background: #fafafa; margin: 2px 0; padding: 2px 4px; }
.card .uid { display: block; font-family: monospace; font-size: .9em; white-space: nowrap; }
.card .small { white-space: nowrap; }
.small { font-size: smaller; color: #555; }
.count { font-size: smaller; color: #777; font-weight: normal; }
.empty { color: #888; font-style: italic; }
.error { color: #b71c1c; font-family: monospace; white-space: pre-wrap; }
.body { font-family: monospace; font-size: .85em; word-break: break-all; }
table.data tr:nth-child(even) td { background: #f5f5f5; }
.updated { font-size: smaller; color: #777; }
.links li { margin: 2px 0; }
svg text { font-family: Verdana, "DejaVu Sans", sans-serif; }
""".strip()


def esc(value: Any) -> str:
    """``value`` as escaped HTML text; None and NaN as the empty string."""
    if type(value) is str:  # tables are mostly text: that case goes straight on
        text: str = value
    else:
        value = plain(value)
        if value is None:
            return ""
        text = str(value)
    # html.escape(value, quote=True), inlined: a report escapes ~100,000 values
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def state_color(state: Any) -> str:
    """The color of ``state`` (grey for a state the life-cycle does not know)."""
    return STATE_COLORS.get(str(state), UNKNOWN_COLOR)


def _when(value: Any) -> str:
    return esc(value).replace("T", " ")


def _card(card: Mapping[str, Any], state: str) -> str:
    extra = " ".join(esc(card.get(key)) for key in ("substate", "executive") if card.get(key))
    return (
        f'<div class="card" data-uid="{esc(card.get("uid"))}" '
        f'style="border-left-color: {state_color(state)}">'
        f'<span class="uid">{esc(card.get("uid"))}</span>'
        + (f'<span class="small">{extra}</span><br>' if extra else "")
        + f'<span class="small">{_when(card.get("timestamp"))}</span></div>'
    )


def _column(state: str, cards: Sequence[Mapping[str, Any]], limit: int | None) -> str:
    shown = cards if limit is None else cards[:limit]
    more = len(cards) - len(shown)
    tail = f'<div class="empty">{more} more not shown</div>' if more > 0 else ""
    return (
        f'<td data-state="{esc(state)}">'
        + "".join(_card(card, state) for card in shown)
        + f"{tail}</td>"
    )


def board_rows_html(board: Board, *, limit: int | None = None) -> str:
    """The board turned on its side, one row per state: for a narrow panel (the sidecar)."""
    rows = "".join(
        f'<tr><th style="border-left: 4px solid {state_color(state)}">{tooltip_html(state)} '
        f'<span class="count">{len(cards)}</span></th></tr>'
        f"<tr>{_column(state, cards, limit)}</tr>"
        for state, cards in board.items()
    )
    return (
        '<div class="board-scroll"><table class="board board-rows">'
        f"<caption>ObsUnitSets status entities</caption>{rows}</table></div>"
    )


def board_html(board: Board, *, limit: int | None = None) -> str:
    """The OUSs in one column per state, like the original dashboard's first table.

    ``limit`` keeps the newest cards of each column and says how many were left out.
    No state name or uid is ever broken over two lines: a board wider than its
    page scrolls sideways instead, and each state's heading explains it on hover.
    """
    heads = "".join(
        f'<th style="border-bottom-color: {state_color(state)}">{tooltip_html(state)} '
        f'<span class="count">{len(cards)}</span></th>'
        for state, cards in board.items()
    )
    cells = "".join(_column(state, cards, limit) for state, cards in board.items())
    return (
        '<div class="board-scroll"><table class="board">'
        "<caption>ObsUnitSets status entities</caption>"
        f"<tr>{heads}</tr><tr>{cells}</tr></table></div>"
    )


def table_html(
    table: pd.DataFrame,
    *,
    caption: str,
    headers: Mapping[str, str] | None = None,
    classes: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> str:
    """``table`` as an HTML table; ``headers`` picks and names columns (default: all).

    ``classes`` gives a CSS class per column; ``limit`` keeps the first rows
    and says how many were left out.
    """
    headers = headers or {str(name): str(name) for name in table.columns}
    classes = classes or {}
    names = list(headers)
    head = "".join(f"<th>{esc(title)}</th>" for title in headers.values())
    shown = table if limit is None else table.head(limit)
    opening = [
        f'<td class="{esc(classes[name])}">' if name in classes else "<td>" for name in names
    ]
    rows = [
        "<tr>"
        + "".join([cell + esc(value) + "</td>" for cell, value in zip(opening, row, strict=True)])
        + "</tr>"
        for row in shown[names].itertuples(index=False)
    ]
    if not rows:
        rows = [f'<tr><td class="empty" colspan="{len(names)}">none</td></tr>']
    more = len(table) - len(shown)
    if more > 0:
        rows.append(f'<tr><td class="empty" colspan="{len(names)}">{more} more not shown</td></tr>')
    return (
        f'<table class="data"><caption>{esc(caption)} <span class="count">{len(table)}</span>'
        f"</caption><tr>{head}</tr>{''.join(rows)}</table>"
    )


def _safe_href(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") or (not parts.scheme and not parts.netloc):
        return url
    return None


def links_html(links: Mapping[str, str] | None, *, clickable: bool = True) -> str:
    """A list of named links (caches, weblogs); as plain text when not ``clickable``."""
    if not links:
        return '<p class="empty">no links</p>'
    items = []
    for name, url in links.items():
        href = _safe_href(str(url)) if clickable else None
        if href is None:
            items.append(f"<li>{esc(name)}: <code>{esc(url)}</code></li>")
        else:
            items.append(
                f'<li><a href="{esc(href)}" target="_blank" rel="noopener">{esc(name)}</a></li>'
            )
    return f'<ul class="links">{"".join(items)}</ul>'


def spec_table(spec: TableSpec, table: pd.DataFrame, *, limit: int | None = None) -> str:
    """The registered table ``spec`` with its data ``table``, as its pages show it."""
    return table_html(
        table, caption=spec.caption, headers=spec.shown, classes=CELL_CLASSES, limit=limit
    )


def snapshot_table(snap: Snapshot, name: str, *, limit: int | None = None) -> str:
    """The table ``name`` (a key of ``registry.TABLES``) of ``snap``."""
    return spec_table(TABLES[name], snap[name], limit=limit)


def dashboard_tables() -> list[str]:
    """The names of the tables the dashboard page shows, in registry order."""
    return [name for name, spec in TABLES.items() if spec.on_dashboard]


def fragments(snap: Snapshot, *, limit: int | None = None) -> dict[str, str]:
    """Element id -> inner HTML of every live part of the dashboard."""
    parts = {"board": board_html(snap.board, limit=limit)}
    parts.update({name: snapshot_table(snap, name, limit=limit) for name in dashboard_tables()})
    parts["updated"] = f"updated {_when(snap.taken_at)} UTC"
    return parts


def sections(ids: Sequence[str], parts: Mapping[str, str]) -> str:
    """``<div class="table-div" id=...>`` for each id, filled from ``parts``."""
    return "".join(f'<div class="table-div" id="{esc(i)}">{parts.get(i, "")}</div>' for i in ids)


def weblog_frame(page: str, base_url: str | None = None, height: int = 300) -> str:
    """``page`` (a weblog's ``index.html``) inline in a sandboxed ``<iframe srcdoc>``.

    With ``base_url`` the weblog's own links (stage pages) open from the served
    weblog in a new tab. The frame runs no scripts, and works on a remote
    Jupyter too (nothing is fetched from the kernel's host). The frame sits in a
    ``<div>``: IPython warns about HTML that starts with ``<iframe``.
    """
    if base_url:
        base = f'<base href="{esc(urljoin(base_url, "."))}" target="_blank">'
        page = page.replace("<head>", "<head>" + base, 1) if "<head>" in page else base + page
    return (
        f'<div class="drwlab-weblog-frame"><iframe class="drwlab-weblog" srcdoc="{esc(page)}" '
        'sandbox="allow-popups allow-popups-to-escape-sandbox" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #ccc;"></iframe></div>'
    )


def weblog_link(url: str | None) -> str:
    """A link to a weblog served by a cache (opens in a new tab)."""
    if not url:
        return '<span class="empty">the weblog is not served</span>'
    safe = esc(url)
    return f'Served weblog: <a href="{safe}" target="_blank" rel="noopener">{safe}</a>'


def served_frame(url: str, height: int = 300) -> str:
    """A link to the served ``url`` and the page itself in a frame (if the browser reaches it)."""
    safe = esc(url)
    return (
        f'<p>Served by the JAO cache: <a href="{safe}" target="_blank">{safe}</a></p>'
        f'<iframe src="{safe}" style="width: 100%; height: {int(height)}px; '
        'border: 1px solid #ccc;"></iframe>'
    )


def verdict_html(passed: bool, success: str, hint: str) -> str:
    """An exercise's verdict: ``success`` in green when ``passed``, else ``hint`` in red."""
    if passed:
        text, color = "\u2714 " + success, "#1b5e20"
    else:
        text, color = "\u2718 Not yet: " + hint, "#b71c1c"
    return f'<p style="color: {color}; font-weight: bold">{esc(text)}</p>'


def qa_scores_html(scores: pd.DataFrame) -> str:
    """One run's QA scores (``stage``, ``name``, ``score`` columns) as a table, each score
    coloured by its band (``drwlab.qa.qa_band``), the band named and explained on hover."""
    if scores.empty:
        return '<p class="empty">no QA scores yet</p>'
    rows = []
    for stage, name, score in scores[["stage", "name", "score"]].itertuples(index=False):
        if stage is None or not isinstance(score, (int, float)):
            rows.append(f'<tr><td colspan="4" class="error">{esc(name)}</td></tr>')
            continue
        band = qa_band(float(score))
        rows.append(
            f'<tr data-band="{esc(band.name)}"><td>{esc(stage)}</td><td>{esc(name)}</td>'
            f'<td style="background: {band.background}; color: {band.foreground}; '
            f'font-weight: bold" title="{esc(band.colour)}: {esc(band.meaning)}">'
            f"{float(score):.2f}</td><td>{esc(band.name)}</td></tr>"
        )
    return (
        '<table class="data qa-scores"><tr><th>Stage</th><th>Task</th><th>QA score</th>'
        f"<th>Band</th></tr>{''.join(rows)}</table>"
    )
