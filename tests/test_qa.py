"""QA score bands: the pipeline documentation's thresholds, edges included."""

from __future__ import annotations

import math

import pytest

from drwlab.qa import QA_BANDS, qa_band


@pytest.mark.parametrize(
    ("score", "band", "colour"),
    [
        (1.0, "optimal", "green"),
        (0.91, "optimal", "green"),
        (0.9, "suboptimal", "blue"),
        (0.67, "suboptimal", "blue"),
        (0.66, "warning", "yellow"),
        (0.34, "warning", "yellow"),
        (0.33, "error", "red"),
        (0.0, "error", "red"),
    ],
)
def test_a_score_falls_in_the_documented_band(score: float, band: str, colour: str) -> None:
    assert (qa_band(score).name, qa_band(score).colour) == (band, colour)


def test_bands_run_from_best_to_worst_with_distinct_colours() -> None:
    floors = [band.floor for band in QA_BANDS]
    assert floors == sorted(floors, reverse=True)
    assert len({band.background for band in QA_BANDS}) == len({b.foreground for b in QA_BANDS}) == 4


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf, "0.5", None])
def test_a_score_outside_0_to_1_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        qa_band(bad)  # type: ignore[arg-type]
