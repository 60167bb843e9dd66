"""The OUS life-cycle diagram, drawn from ``lifecycle.TRANSITIONS`` (never a copied picture).

``lifecycle_svg`` lays the main path out top to bottom as the original's
``life-cycle.png`` does, puts the side states (those that only lead back,
like ProcessingProblem) to the right of the state they come from, and draws
every transition as a labelled arrow: consecutive steps down the middle,
one-step returns beside them, longer returns in lanes on the left. It can
highlight the current stage and print how many OUSs took each transition.
``lifecycle_mermaid`` writes the same data as a mermaid ``stateDiagram-v2``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from drwlab.lifecycle import STATES, TRANSITIONS, State, Transition
from drwlab.views.html import esc, state_color

Counts = Mapping[tuple[State | str, State | str], int]

BOX_W, BOX_H, ROW_PITCH, TOP = 180, 40, 90, 20
MAIN_X = 300
SIDE_GAP = 150
LANE_X, LANE_STEP = 150, 26


@dataclass(frozen=True)
class _Box:
    x: float
    y: float

    @property
    def cx(self) -> float:
        return self.x + BOX_W / 2

    @property
    def cy(self) -> float:
        return self.y + BOX_H / 2


def _is_side(state: State) -> bool:
    """A side state only leads back to earlier states (the end of the path leads nowhere)."""
    order = STATES.index(state)
    targets = [STATES.index(t.target) for t in TRANSITIONS if t.source is state]
    return bool(targets) and all(target < order for target in targets)


def _layout() -> dict[State, _Box]:
    boxes: dict[State, _Box] = {}
    main = [state for state in STATES if not _is_side(state)]
    for row, state in enumerate(main):
        boxes[state] = _Box(MAIN_X, TOP + row * ROW_PITCH)
    used: dict[float, int] = {}
    for state in (s for s in STATES if _is_side(s)):
        sources = [t.source for t in TRANSITIONS if t.target is state and t.source in boxes]
        y = boxes[sources[0]].y if sources else TOP
        column = used.get(y, 0)
        used[y] = column + 1
        boxes[state] = _Box(MAIN_X + BOX_W + SIDE_GAP + column * (BOX_W + 60), y)
    return boxes


def _name(state: State | str) -> str:
    return state.value if isinstance(state, State) else str(state)


def _norm(counts: Counts | None) -> dict[tuple[str, str], int]:
    return {(_name(s), _name(t)): int(n) for (s, t), n in (counts or {}).items()}


def _text(
    x: float, y: float, text: str, anchor: str = "middle", extra: str = "", size: int = 11
) -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" font-size="{size}" {extra}>'
        f"{esc(text)}</text>"
    )


def _route(t: Transition, boxes: dict[State, _Box], lane: int) -> tuple[str, str]:
    """SVG path data and label markup of transition ``t``."""
    a, b = boxes[t.source], boxes[t.target]
    if a.x == b.x and b.y - a.y == ROW_PITCH:  # one step down the main path
        x = a.cx - 30
        return f"M{x},{a.y + BOX_H} V{b.y - 2}", _text(x - 6, a.y + BOX_H + 30, t.label, "end")
    if a.x == b.x and a.y - b.y == ROW_PITCH:  # one step back up
        x = a.cx + 30
        return f"M{x},{a.y} V{b.y + BOX_H + 2}", _text(x + 6, b.y + BOX_H + 30, t.label, "start")
    if a.x == b.x:  # a longer jump: a lane on the left
        x = LANE_X - lane * LANE_STEP
        path = f"M{a.x},{a.cy + 6} H{x} V{b.cy - 6} H{b.x - 2}"
        mid = (a.cy + b.cy) / 2
        rotate = f'transform="rotate(-90 {x - 5:.0f} {mid:.0f})"'
        return path, _text(x - 5, mid, t.label, "middle", rotate)
    if b.x > a.x:  # out to a side state
        if a.y == b.y:
            path = f"M{a.x + BOX_W},{a.cy} H{b.x - 2}"
        else:
            path = f"M{a.x + BOX_W},{a.cy} H{b.cx} V{b.y - 2 if b.y > a.y else b.y + BOX_H + 2}"
        return path, _text((a.x + BOX_W + b.x) / 2, a.cy + 16, t.label)
    # back from a side state to the main path
    start = a.y if b.y < a.y else a.y + BOX_H
    path = f"M{a.cx},{start} V{b.cy} H{b.x + BOX_W + 2}"
    label_y = (start + b.cy) / 2 if b.y != a.y else b.cy - 6
    return path, _text(a.cx + 6, label_y, t.label, "start")


def _transition(
    t: Transition, boxes: dict[State, _Box], lane: int, counts: dict[tuple[str, str], int] | None
) -> str:
    path, label = _route(t, boxes, lane)
    width, opacity, badge = 1.6, 1.0, ""
    if counts is not None:
        n = counts.get((t.source.value, t.target.value), 0)
        width = 1.2 + min(4.0, math.log2(n + 1))
        opacity = 1.0 if n else 0.45
        badge = f' data-count="{n}"'
        label = label.replace("</text>", f' <tspan font-weight="bold">\u00d7{n}</tspan></text>')
    return (
        f'<g class="transition" data-source="{esc(t.source.value)}" '
        f'data-target="{esc(t.target.value)}"{badge} opacity="{opacity}">'
        f"<title>{esc(t.source.value)} \u2192 {esc(t.target.value)}: {esc(t.label)}</title>"
        f'<path d="{path}" fill="none" stroke="#f5a623" stroke-width="{width:.1f}" '
        f'marker-end="url(#lc-arrow)"/>{label}</g>'
    )


def _state(state: State, box: _Box, highlight: State | None) -> str:
    on = state is highlight
    stroke, width, opacity = ("#111", 3, 1.0) if on else ("#607d8b", 1, 0.55)
    weight = "bold" if on else "normal"
    return (
        f'<g class="state" data-state="{esc(state.value)}" data-highlight="{str(on).lower()}">'
        f'<rect x="{box.x}" y="{box.y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
        f'fill="{state_color(state.value)}" fill-opacity="{opacity}" stroke="{stroke}" '
        f'stroke-width="{width}"/>'
        + _text(box.cx, box.cy + 4, state.value, "middle", f'font-weight="{weight}"', 13)
        + "</g>"
    )


def lifecycle_svg(highlight: State | str | None = None, counts: Counts | None = None) -> str:
    """The life-cycle as an SVG string.

    Parameters
    ----------
    highlight:
        A state to draw as the current stage (thick border, full color).
    counts:
        ``(source, target) -> n``: how many OUSs took each transition; each
        arrow then shows its count and is as thick as it is busy.
    """
    current = State(highlight) if highlight is not None else None
    boxes = _layout()
    norm = _norm(counts) if counts is not None else None
    lanes = 0
    arrows = []
    for t in TRANSITIONS:
        a, b = boxes[t.source], boxes[t.target]
        long_jump = a.x == b.x and abs(a.y - b.y) > ROW_PITCH
        arrows.append(_transition(t, boxes, lanes, norm))
        lanes += long_jump
    width = max(box.x for box in boxes.values()) + BOX_W + 140
    height = max(box.y for box in boxes.values()) + BOX_H + TOP
    states = "".join(_state(state, boxes[state], current) for state in STATES)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lifecycle" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="OUS life-cycle" font-family="Verdana, DejaVu Sans, sans-serif">'
        f'<defs><marker id="lc-arrow" viewBox="0 0 10 10" '
        f'refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
        f'orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="#f5a623"/></marker></defs>'
        f"{''.join(arrows)}{states}</svg>"
    )


def lifecycle_mermaid(highlight: State | str | None = None, counts: Counts | None = None) -> str:
    """The same life-cycle as mermaid ``stateDiagram-v2`` text."""
    norm = _norm(counts) if counts is not None else None
    lines = ["stateDiagram-v2", f"    [*] --> {STATES[0].value}"]
    for t in TRANSITIONS:
        label = t.label.replace(":", " -")
        if norm is not None:
            label += f" (\u00d7{norm.get((t.source.value, t.target.value), 0)})"
        lines.append(f"    {t.source.value} --> {t.target.value}: {label}")
    lines.append(f"    {State.DELIVERED.value} --> [*]")
    if highlight is not None:
        lines.append("    classDef current fill:#ffeb3b,stroke:#111,stroke-width:3px")
        lines.append(f"    class {State(highlight).value} current")
    return "\n".join(lines) + "\n"
