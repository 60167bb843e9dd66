"""Fixtures of the reliability suite.

The figures the suite measures are kept by ``tests/reliability/figures.py``
(a plugin loaded by the repository's ``conftest.py``): see there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def secret_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory beside the one under test, holding a file nobody may serve."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    yield outside
