"""The figures the reliability tests measure, kept for the session's summary (see conftest.py)."""

from __future__ import annotations

from typing import Any

FIGURES: dict[str, dict[str, Any]] = {}


class Figures:
    """Named groups of measured values."""

    def record(self, name: str, **values: Any) -> None:
        """Keep ``values`` under ``name`` (a later call with the same name adds to it)."""
        FIGURES.setdefault(name, {}).update(values)
