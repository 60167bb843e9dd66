"""What a notebook's earlier run left on its sandbox, put away when the notebook starts again.

A learner presses Run All a second time in the same kernel, or runs the
start cell again: the notebook's sandbox then starts afresh (``kernel``), and
what the first run built on the old one must not outlive it. The views, the
QA2 panel and the sandbox's own actors end with the sandbox by themselves; the
notebook's own message buses (``bus = MessageBus(sb.store)`` in 01) and the
actors it started outside ``add_actor`` (02's failing driver) do not: their
listeners would keep claiming messages, or retry a closed store for ever.
:func:`put_away` closes them. It only looks at the notebook's variables, and
only at what was built on the sandbox being replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from drwlab.actors.base import Actor
from drwlab.bus import MessageBus
from drwlab.sandbox import Sandbox

log = logging.getLogger(__name__)


def notebook_variables() -> Mapping[str, Any]:
    """The variables of the running IPython kernel's notebook (empty outside a kernel)."""
    from IPython import get_ipython

    shell = get_ipython()
    return {} if shell is None else shell.user_ns


def built_on(sandbox: Sandbox, namespace: Mapping[str, Any]) -> list[MessageBus | Actor]:
    """The buses on ``sandbox``'s store and the actors on its bus that ``namespace`` holds."""
    if not sandbox.running:
        return []
    store, bus = sandbox.store, sandbox.bus
    found: dict[int, MessageBus | Actor] = {}
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        own_bus = isinstance(value, MessageBus) and value is not bus and value.store is store
        if own_bus or (isinstance(value, Actor) and value.bus is bus):
            found[id(value)] = value
    return list(found.values())


def put_away(sandbox: Sandbox, namespace: Mapping[str, Any] | None = None) -> list[str]:
    """Stop the actors and close the buses the notebook built on ``sandbox``; what was closed.

    ``namespace`` defaults to the notebook's variables. Call it before the
    sandbox stops: a bus is recognised by the store it was built on.
    """
    variables = notebook_variables() if namespace is None else namespace
    closed = []
    for thing in built_on(sandbox, variables):
        if isinstance(thing, MessageBus):
            thing.close()
        else:
            thing.stop()
        closed.append(repr(thing))
    if closed:
        log.info("put away what the notebook built on %r: %s", sandbox, ", ".join(closed))
    return closed
