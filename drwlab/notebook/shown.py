"""The live views this kernel shows, by what they show: a cell run again shows the same one.

A learner runs a cell again (``nb.live_board(sb)``, ``nb.system_map(sb)``):
without this, a second view would start beside the first, whose output the
page has dropped but whose thread goes on redrawing it, and a docked board
would open a second side panel. With it, asking again for a view of the same
source showing the same thing returns the one that runs; displayed again, it
is one more place where the same widget updates live (ipywidgets shows one
widget in as many places as it is displayed). A view of a sandbox that has
stopped, or a view stopped by hand, is not reused: a new one starts.

Module-level state: ``SHOWN``, the registry of this kernel's running views
(the notebook layer is one kernel, one notebook; see ``kernel``). It holds the
views weakly, and sources by identity only, so it keeps nothing alive.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar


class Running(Protocol):
    """What the registry needs of a view: what it shows and whether it still runs."""

    @property
    def source(self) -> Any: ...

    @property
    def running(self) -> bool: ...


V = TypeVar("V", bound=Running)


class Shown:
    """Running views by (source, what they show); see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: weakref.WeakValueDictionary[tuple[Hashable, ...], Any] = (
            weakref.WeakValueDictionary()
        )

    def view(self, source: object, what: tuple[Hashable, ...], start: Callable[[], V]) -> V:
        """The running view of ``source`` showing ``what``, else the one ``start()`` returns."""
        key = (id(source), *what)
        with self._lock:
            shown = self._views.get(key)
            if shown is not None and shown.source is source and shown.running:
                return shown  # type: ignore[no-any-return]
            started = start()
            self._views[key] = started
            return started


SHOWN = Shown()
"""This kernel's running views."""
