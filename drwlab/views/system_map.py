"""The system map: the actors as boxes, the selectors they send on as arrows, as SVG.

The map of the original single-host set-up, drawn so that a learner sees who
talks to whom before reading any code: the launcher asks a pipeline driver to
process an OUS, the driver asks the caches to copy the weblog and AQUA QA2 to
review the report, QA2 asks the product ingestor to ingest, and every one of
them asks the XTSS (an RPC) to change a state; the data tracker watches the
deliveries. Each arrow carries how many messages its selectors have had (the
``messages`` read model, summed per selector), each box explains its actor on
hover (the glossary), and the actors that work in the life-cycle stage given
as ``highlight`` are drawn highlighted. Pure: data in, text out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from drwlab.glossary import UnknownTerm, lookup
from drwlab.lifecycle import State
from drwlab.views.html import esc

WIDTH, HEIGHT = 830, 340
BOX_W, BOX_H = 150, 46
HIGHLIGHT = "#ffa726"
XTSS_SELECTOR = "xtss"


@dataclass(frozen=True)
class Box:
    """One actor on the map: its name (also its glossary word), label and top-left corner."""

    name: str
    label: str
    x: float
    y: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + BOX_W / 2, self.y + BOX_H / 2


@dataclass(frozen=True)
class Link:
    """An arrow from ``source`` to ``target``: the selectors starting with ``prefix``."""

    source: str
    target: str
    prefix: str
    label: str


BOXES = (
    Box("launcher", "launcher", 10, 30),
    Box("pipeline driver", "pipeline driver", 340, 30),
    Box("cache", "caches", 670, 30),
    Box("AQUA", "AQUA QA2", 670, 150),
    Box("product ingestor", "product ingestor", 670, 270),
    Box("XTSS", "XTSS", 340, 270),
    Box("data tracker", "data tracker", 10, 270),
)

LINKS = (
    Link("launcher", "pipeline driver", "pipeline.process.", "pipeline.process.*"),
    Link("pipeline driver", "cache", "cached.", "cached.*"),
    Link("pipeline driver", "AQUA", "pipeline.report.", "pipeline.report.JAO"),
    Link("AQUA", "product ingestor", "ingest.", "ingest.JAO"),
)

XTSS_CLIENTS = ("launcher", "pipeline driver", "AQUA", "product ingestor", "data tracker")
"""The actors that ask the XTSS to change states, by RPC on the ``xtss`` selector."""

STAGE_ACTORS: dict[str, tuple[str, ...]] = {
    State.FULLY_OBSERVED.value: ("XTSS",),
    State.READY_FOR_PROCESSING.value: ("launcher", "XTSS"),
    State.PROCESSING.value: ("pipeline driver", "cache"),
    State.PROCESSING_PROBLEM.value: ("pipeline driver",),
    State.READY_FOR_REVIEW.value: ("AQUA", "cache"),
    State.REVIEWING.value: ("AQUA",),
    State.VERIFIED.value: ("AQUA", "product ingestor"),
    State.DELIVERY_IN_PROGRESS.value: ("product ingestor",),
    State.DELIVERED.value: ("data tracker",),
}
"""The actors that do the work of each life-cycle stage (what ``highlight`` lights up)."""


def selector_counts(messages: pd.DataFrame) -> dict[str, int]:
    """Messages per selector from the ``messages`` read model (selector, state, messages)."""
    if messages.empty:
        return {}
    summed = messages.groupby("selector")["messages"].sum()
    return {str(selector): int(count) for selector, count in summed.items()}


def _count(counts: Mapping[str, int], prefix: str) -> int:
    return sum(n for selector, n in counts.items() if selector.startswith(prefix))


def _hover(word: str) -> str:
    try:
        return lookup(word).short
    except UnknownTerm:
        return word


YOURS_SLOTS = ((10, 150), (340, 150))
"""Free places on the map for actors of your own; more go in rows below the map."""
YOURS_HOVER = "an actor of your own, added to the running sandbox"


def yours_boxes(names: Sequence[str]) -> list[Box]:
    """Boxes for actors of your own (``Sandbox.add_actor``), in the map's free places."""
    slots = list(YOURS_SLOTS)
    boxes = []
    for index, name in enumerate(names):
        if index < len(slots):
            x, y = slots[index]
        else:
            row, column = divmod(index - len(slots), 3)
            x, y = 10 + 330 * column, HEIGHT + 20 + 70 * row
        boxes.append(Box(name, name, x, y))
    return boxes


def _box(box: Box, lit: bool, *, yours: bool = False) -> str:
    fill, stroke, width = (HIGHLIGHT, "#e65100", 3) if lit else ("#eceff1", "#607d8b", 1.2)
    if yours and not lit:
        fill, stroke = "#e8f5e9", "#2e7d32"
    cx, cy = box.centre
    hover = YOURS_HOVER if yours else _hover(box.name)
    kind = " yours" if yours else ""
    return (
        f'<g class="actor{kind}{" highlighted" if lit else ""}" data-actor="{esc(box.name)}">'
        f"<title>{esc(box.label)}: {esc(hover)}</title>"
        f'<rect x="{box.x}" y="{box.y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
        f'<text x="{cx}" y="{cy + 4}" font-size="13" text-anchor="middle">{esc(box.label)}</text>'
        "</g>"
    )


def _edge_point(box: Box, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from ``box``'s centre toward a point leaves the box."""
    cx, cy = box.centre
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else float("inf"),
        (BOX_H / 2) / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def _arrow(source: Box, target: Box, label: str, *, dashed: bool = False) -> str:
    x1, y1 = _edge_point(source, target.centre)
    x2, y2 = _edge_point(target, source.centre)
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    color = "#90a4ae" if dashed else "#37474f"
    upright = abs(x2 - x1) < 1  # a vertical arrow: its label beside it, not across it
    text = (
        f'<text x="{(x1 + x2) / 2 + (6 if upright else 0):.0f}" '
        f'y="{(y1 + y2) / 2 + (4 if upright else -6):.0f}" font-size="11" '
        f'text-anchor="{"start" if upright else "middle"}" fill="#263238" '
        f'stroke="#fff" stroke-width="3" paint-order="stroke">{esc(label)}</text>'
        if label
        else ""
    )
    return (
        f'<path d="M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}" stroke="{color}" stroke-width="1.6" '
        f'fill="none"{dash} marker-end="url(#map-arrow)"/>{text}'
    )


def system_map_svg(
    counts: Mapping[str, int], highlight: Iterable[str] = (), yours: Sequence[str] = ()
) -> str:
    """The map with ``counts`` (messages per selector) on its arrows, the actors named
    in ``highlight`` (glossary names, e.g. ``"pipeline driver"``) highlighted, and a box
    for each actor of your own named in ``yours``."""
    boxes = {box.name: box for box in BOXES}
    lit = set(highlight)
    unknown = lit - set(boxes)
    if unknown:
        raise ValueError(f"no actor {sorted(unknown)} on the map; actors: {sorted(boxes)}")
    links = "".join(
        f'<g class="link" data-selector="{esc(link.prefix)}">'
        + _arrow(
            boxes[link.source],
            boxes[link.target],
            f"{link.label}: {_count(counts, link.prefix)}",
        )
        + "</g>"
        for link in LINKS
    )
    rpc = "".join(_arrow(boxes[name], boxes["XTSS"], "", dashed=True) for name in XTSS_CLIENTS)
    xtss = boxes["XTSS"]
    rpc_label = (
        f'<text class="rpc-count" x="{xtss.x + BOX_W / 2}" y="{xtss.y + BOX_H + 16}" '
        f'font-size="11" text-anchor="middle" fill="#263238">'
        f"xtss (RPC, dashed): {counts.get(XTSS_SELECTOR, 0)} requests</text>"
    )
    actors = "".join(_box(box, box.name in lit) for box in BOXES)
    mine = yours_boxes(yours)
    actors += "".join(_box(box, False, yours=True) for box in mine)
    height = max([HEIGHT + 20, *(box.y + BOX_H + 10 for box in mine)])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="system-map" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        'aria-label="the actors and the selectors they send on" '
        'font-family="Verdana, DejaVu Sans, sans-serif"><defs><marker id="map-arrow" '
        'viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="#37474f"/></marker></defs>{rpc}{links}{actors}{rpc_label}</svg>'
    )


def stage_actors(stage: State | str | None) -> tuple[str, ...]:
    """The actors that work in life-cycle ``stage`` (none for None); ValueError if unknown."""
    if stage is None:
        return ()
    name = stage.value if isinstance(stage, State) else str(stage)
    try:
        return STAGE_ACTORS[name]
    except KeyError:
        raise ValueError(f"no life-cycle state {name!r}; states: {list(STAGE_ACTORS)}") from None
