"""Where a check finds the learner's sandbox: the notebook's ``sb``, or any Sandbox it holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drwlab.exercises.check import instances
from drwlab.sandbox import Sandbox


class NoSandbox(LookupError):
    """The notebook has no running Sandbox for the check to read."""


def sandbox_in(namespace: Mapping[str, Any]) -> Sandbox:
    """The running Sandbox of the notebook (``sb`` first); NoSandbox if there is none."""
    named = namespace.get("sb")
    candidates = [named] if isinstance(named, Sandbox) else []
    candidates += instances(namespace, Sandbox)
    for sandbox in candidates:
        if sandbox.running:
            return sandbox
    raise NoSandbox("no running sandbox in this notebook: run the cell that starts it first")
