"""Pipeline QA score bands: what a stage's score means and the colour it is shown in.

The ALMA pipeline grades each stage from 0 to 1; its developer documentation
("QA Score Design") reads a score above 0.90 as optimal (green), above 0.66
as suboptimal (blue), above 0.33 as a warning (yellow) and 0.33 or less as an
error (red). The weblog, the QA2 panel, the report and the dashboard all
colour scores through :func:`qa_band`, so a score looks the same everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class QABand:
    """One band of QA scores: scores above ``floor`` (and not above the next band)."""

    name: str
    colour: str
    """The band's colour name, as the pipeline documentation says it."""
    background: str
    """A light CSS colour for a table cell or badge (dark text stays readable on it)."""
    foreground: str
    """A dark CSS colour for text or a plot mark in this band."""
    floor: float
    meaning: str


QA_BANDS: tuple[QABand, ...] = (
    QABand("optimal", "green", "#c8e6c9", "#1b5e20", 0.90, "nothing to look at"),
    QABand("suboptimal", "blue", "#bbdefb", "#0d47a1", 0.66, "worth a glance"),
    QABand("warning", "yellow", "#fff59d", "#8d6e00", 0.33, "read this stage"),
    QABand("error", "red", "#ffcdd2", "#b71c1c", -math.inf, "something went wrong here"),
)
"""From best to worst; a score belongs to the first band whose floor it is above."""


def qa_band(score: float) -> QABand:
    """The band of a QA score (0..1): 0.95 -> optimal, 0.9 -> suboptimal, 0.33 -> error.

    Raises ValueError for a score that is not a number between 0 and 1.
    """
    if not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
        raise ValueError(f"a QA score is a number between 0 and 1, not {score!r}")
    return next(band for band in QA_BANDS if score > band.floor)
