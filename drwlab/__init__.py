"""drwlab: a teaching sandbox for ALMA's Data Reduction Workflow.

The public names are imported lazily, so ``import drwlab`` (which every
``python -m drwlab.pipeline`` run does) stays cheap and starts nothing::

    from drwlab import open_store, MessageBus, Sandbox, Actor
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Actor", "MessageBus", "Sandbox", "__version__", "open_store"]

_LAZY = {
    "open_store": "drwlab.store",
    "MessageBus": "drwlab.bus",
    "Sandbox": "drwlab.sandbox",
    "Actor": "drwlab.actors.base",
}

if TYPE_CHECKING:
    from drwlab.actors.base import Actor
    from drwlab.bus import MessageBus
    from drwlab.sandbox import Sandbox
    from drwlab.store import open_store


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drwlab' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
