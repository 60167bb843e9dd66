"""Actors: the stock ones of the original system, and the public base to write your own.

To write an actor: subclass :class:`Actor` (``docs/actors.md`` is the guide),
change OUS states through :class:`XtssClient`, check bodies with
:func:`body_dict`, :func:`only_fields` and :func:`text_field`; run it in a
sandbox with ``Sandbox.add_actor`` or as a process with
``drwlab run --actor module:Class``.

The stock actors, one module each:

- :class:`~drwlab.actors.xtss.Xtss` (and :class:`~drwlab.actors.xtss.XtssClient`)
- :class:`~drwlab.actors.launcher.Launcher`
- :class:`~drwlab.actors.pipeline_driver.PipelineDriver`
- :class:`~drwlab.actors.replicated_cache.ReplicatedCache`
- :class:`~drwlab.actors.aqua_qa2.AquaQA2` (and the terminal UI in ``aqua_tui``)
- :class:`~drwlab.actors.product_ingestor.ProductIngestor`
- :class:`~drwlab.actors.data_tracker.DataTracker`
"""

from drwlab.actors.aqua_qa2 import AquaQA2, Review
from drwlab.actors.base import Actor, body_dict, is_redelivery, only_fields, text_field
from drwlab.actors.data_tracker import DataTracker
from drwlab.actors.launcher import Launched, Launcher, process_selector
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.product_ingestor import ProductIngestor
from drwlab.actors.replicated_cache import ReplicatedCache
from drwlab.actors.xtss import Xtss, XtssClient, executive_of

__all__ = [
    "Actor",
    "AquaQA2",
    "DataTracker",
    "Launched",
    "Launcher",
    "PipelineDriver",
    "ProductIngestor",
    "ReplicatedCache",
    "Review",
    "Xtss",
    "XtssClient",
    "body_dict",
    "executive_of",
    "is_redelivery",
    "only_fields",
    "process_selector",
    "text_field",
]
