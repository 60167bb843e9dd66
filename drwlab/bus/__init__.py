"""The message bus: selectors, groups and RPC over the ``msgq`` database of a Store.

See ``bus.py`` for the API, ``message.py`` for the wire format and
``listener.py`` for the delivery guarantees.
"""

from drwlab.bus.bus import MessageBus
from drwlab.bus.listener import Listener
from drwlab.bus.message import MAX_BODY_BYTES
from drwlab.crashpoints import crash_deferred

__all__ = ["MAX_BODY_BYTES", "Listener", "MessageBus", "crash_deferred"]
