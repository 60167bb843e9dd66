"""What an exercise check says: passed or not, exactly what is missing, and whether to wait.

A check reads what the learner did (the sandbox's store, the notebook's
variables) and returns a :class:`Check`; the notebook shows it as one line,
``✔ ...`` or ``✘ Not yet: ...``, and nothing else (no ``True`` echoed under
it). A check never guesses: when something the learner started is still on
its way (a message not yet handled, a pipeline still running), it says so
with ``pending``, and :func:`drwlab.exercises.check` waits for it to settle
instead of failing a correct answer.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PASS_MARK, FAIL_MARK = "\u2714", "\u2718"


@dataclass(frozen=True)
class Check:
    """The verdict of one exercise check."""

    exercise: str
    passed: bool
    message: str
    """On success, what the learner achieved; otherwise exactly what is missing."""
    pending: bool = False
    """Not passed *yet*: something the learner started is still in progress."""

    @property
    def line(self) -> str:
        """The one line the notebook shows."""
        if self.passed:
            return f"{PASS_MARK} {self.exercise}: {self.message}"
        return f"{FAIL_MARK} {self.exercise}: not yet: {self.message}"

    def __str__(self) -> str:
        return self.line

    def _repr_html_(self) -> str:
        colour = "#1b5e20" if self.passed else "#b71c1c"
        return (
            f'<p class="drwlab-check" style="color: {colour}; font-weight: bold">'
            f"{html.escape(self.line)}</p>"
        )


def passed(exercise: str, message: str) -> Check:
    """A check that passed, saying what the learner achieved."""
    return Check(exercise, True, message)


def missing(exercise: str, message: str, *, pending: bool = False) -> Check:
    """A check that did not pass, saying exactly what is missing (``pending``: not yet)."""
    return Check(exercise, False, message, pending)


def variable(namespace: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` the learner defined in ``namespace`` (None if none is)."""
    for name in names:
        if name in namespace:
            return namespace[name]
    return None


def instances(namespace: Mapping[str, Any], kind: type) -> list[Any]:
    """Every value of ``namespace`` that is a ``kind``, whatever the learner named it."""
    return [
        value
        for name, value in namespace.items()
        if isinstance(value, kind) and not name.startswith("_")
    ]
