"""A timeline chart of OUS states: one row per OUS, a colored segment per state, over time.

Drawn as a plain SVG string from a ``state_history`` table, so the report can
inline it and a notebook can show it with ``widgets.HTML``. Rows are in
launch order; a segment lasts from the entry that started the state to the
next change (the last one to the end of the chart); consecutive entries with
the same state (substate changes) make one segment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from drwlab.lifecycle import STATES
from drwlab.views.analysis import Segment, segments
from drwlab.views.html import esc, state_color

_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
TOP, AXIS = 24, 20
MIN_SEGMENT = 5.0
"""Least width of a state on the chart, in px: a state shorter than that (Verified, the
first ingestion substates) gets an outlined marker this wide on top, so that it is seen."""


def _step(span: float, max_ticks: int = 8) -> int:
    return next((step for step in _STEPS if span / step <= max_ticks), _STEPS[-1])


def _tick_label(moment: datetime, span: float) -> str:
    return moment.strftime("%H:%M:%S" if span < 86400 else "%m-%d %H:%M")


def _axis(t0: datetime, span: float, x0: float, scale: float, y: float, bottom: float) -> str:
    step = _step(span)
    first = t0.replace(microsecond=0) + timedelta(seconds=1)
    first -= timedelta(seconds=first.timestamp() % step)
    parts = []
    moment = first
    while (moment - t0).total_seconds() <= span:
        if moment >= t0:
            x = x0 + (moment - t0).total_seconds() * scale
            parts.append(
                f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{bottom}" stroke="#e0e0e0"/>'
                f'<text x="{x:.1f}" y="{y - 6}" font-size="10" text-anchor="middle">'
                f"{esc(_tick_label(moment, span))}</text>"
            )
        moment += timedelta(seconds=step)
    return "".join(parts)


def _legend(y: float, width: int) -> tuple[str, float]:
    """The state colors, wrapped to ``width``; returns the markup and its height."""
    parts, x = [], 10.0
    for state in STATES:
        size = 24 + 7.2 * len(state.value)
        if x + size > width:
            x, y = 10.0, y + 18
        parts.append(
            f'<rect x="{x:.0f}" y="{y}" width="12" height="12" fill="{state_color(state.value)}"/>'
            f'<text x="{x + 16:.0f}" y="{y + 10}" font-size="11">{esc(state.value)}</text>'
        )
        x += size
    return "".join(parts), y + 18


def _row(
    uid: str, segs: list[Segment], y: float, x0: float, t0: datetime, scale: float, height: int
) -> str:
    rects: list[str] = []
    markers: list[str] = []
    for seg in segs:
        x = x0 + (seg.start - t0).total_seconds() * scale
        secs = (seg.stop - seg.start).total_seconds()
        subs = f" ({', '.join(seg.substates)})" if seg.substates else ""
        title = f"<title>{esc(uid)}: {esc(seg.state)}{esc(subs)} for {secs:.1f} s</title>"
        rects.append(
            f'<rect class="segment" data-state="{esc(seg.state)}" x="{x:.1f}" y="{y + 1}" '
            f'width="{max(1.0, secs * scale):.1f}" height="{height - 2}" '
            f'fill="{state_color(seg.state)}">{title}</rect>'
        )
        if secs * scale < MIN_SEGMENT:
            markers.append(
                f'<rect class="brief" data-state="{esc(seg.state)}" x="{x:.1f}" y="{y + 1}" '
                f'width="{MIN_SEGMENT}" height="{height - 2}" fill="{state_color(seg.state)}" '
                f'stroke="#263238" stroke-width="1">{title}</rect>'
            )
    rects += markers  # drawn last, outlined, so that the next state does not cover them
    return (
        f'<g class="ous" data-uid="{esc(uid)}"><text x="{x0 - 6}" y="{y + height - 4}" '
        f'font-size="11" text-anchor="end" font-family="monospace">{esc(uid)}</text>'
        f"{''.join(rects)}</g>"
    )


def timeline_svg(
    history: pd.DataFrame,
    *,
    end: datetime | None = None,
    width: int = 960,
    row_height: int = 16,
    label_width: int = 170,
) -> str:
    """The timeline of every OUS in ``history`` (a ``state_history`` table) as SVG."""
    rows = segments(history, end)
    if not rows:
        return '<p class="empty">no state history yet</p>'
    t0 = min(segs[0].start for segs in rows.values())
    t1 = max(segs[-1].stop for segs in rows.values())
    span = max((t1 - t0).total_seconds(), 1.0)
    plot = width - label_width - 40
    scale = plot / span
    bottom = TOP + AXIS + len(rows) * row_height
    body = "".join(
        _row(uid, segs, TOP + AXIS + i * row_height, label_width, t0, scale, row_height)
        for i, (uid, segs) in enumerate(rows.items())
    )
    legend, height = _legend(bottom + 10, width)
    caption = f"UTC, from {t0.strftime('%Y-%m-%d %H:%M:%S')} for {span:.1f} s"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="OUS state timeline" font-family="Verdana, DejaVu Sans, sans-serif">'
        f'<text x="10" y="14" font-size="11" fill="#555">{esc(caption)}</text>'
        f"{_axis(t0, span, label_width, scale, TOP + AXIS, bottom)}{body}"
        f"{legend}</svg>"
    )
