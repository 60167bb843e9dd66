"""A sequence diagram of one OUS: which actor sent what to whom, in order, as SVG.

Pure rendering of ``analysis.arrows(analysis.ous_messages(store, uid))``: the
messages whose body names the OUS and the replies to its RPC requests, each
an arrow from its sender to the actor that handled it (a message nobody
handled yet points at its selector, a dead-lettered one is drawn red with
its error, a reply is dashed).
"""

from __future__ import annotations

from collections.abc import Sequence

from drwlab.views.analysis import Arrow
from drwlab.views.html import esc

LEFT, PITCH, HEAD, ROW = 110, 170, 40, 34


def _participants(items: Sequence[Arrow]) -> list[str]:
    names: dict[str, None] = {}
    for arrow in items:
        names.setdefault(arrow.source)
        names.setdefault(arrow.target)
    return list(names)


def _arrow(arrow: Arrow, index: int, xs: dict[str, float], y: float) -> str:
    x1, x2 = xs[arrow.source], xs[arrow.target]
    color = "#c62828" if arrow.dead else "#37474f"
    dash = ' stroke-dasharray="5 3"' if arrow.reply else ""
    if x1 == x2:
        path = f"M{x1},{y - 6} h30 v12 h-28"
        label_x, anchor = x1 + 36, "start"
    else:
        path = f"M{x1},{y} H{x2 - 3 if x2 > x1 else x2 + 3}"
        label_x, anchor = (x1 + x2) / 2, "middle"
    return (
        f'<g class="message" data-index="{index}"><title>{esc(arrow.when)} '
        f"{esc(arrow.source)} \u2192 {esc(arrow.target)}: {esc(arrow.detail)}</title>"
        f'<text x="8" y="{y + 4}" font-size="10" fill="#777">{index}. '
        f"{esc(arrow.when[11:23])}</text>"
        f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.4"{dash} '
        f'marker-end="url(#seq-arrow)"/>'
        f'<text x="{label_x:.0f}" y="{y - 5}" font-size="11" text-anchor="{anchor}" '
        f'fill="{color}">{esc(arrow.label)}</text></g>'
    )


def sequence_svg(items: Sequence[Arrow], *, title: str = "") -> str:
    """The arrows as an SVG sequence diagram (participants in order of appearance)."""
    if not items:
        return '<p class="empty">no messages for this OUS</p>'
    names = _participants(items)
    xs = {name: float(LEFT + 70 + i * PITCH) for i, name in enumerate(names)}
    width = LEFT + 70 + len(names) * PITCH
    height = HEAD + 20 + len(items) * ROW + 10
    heads = "".join(
        f'<g class="participant" data-name="{esc(name)}"><rect x="{xs[name] - 78}" y="8" '
        f'width="156" height="26" rx="4" fill="#eceff1" stroke="#607d8b"/>'
        f'<text x="{xs[name]}" y="25" font-size="11" text-anchor="middle">{esc(name)}</text>'
        f'<line x1="{xs[name]}" y1="34" x2="{xs[name]}" y2="{height - 6}" stroke="#b0bec5" '
        f'stroke-dasharray="4 3"/></g>'
        for name in names
    )
    body = "".join(
        _arrow(arrow, i + 1, xs, HEAD + 20 + i * ROW + 10) for i, arrow in enumerate(items)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title or "message sequence")}" '
        f'font-family="Verdana, DejaVu Sans, sans-serif"><defs><marker id="seq-arrow" '
        f'viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="#37474f"/></marker></defs>{heads}{body}</svg>'
    )
