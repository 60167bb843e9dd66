"""The actors of the original system, one module each, each a small class over a bus and a store.

- :class:`~drwlab.actors.xtss.Xtss` (and :class:`~drwlab.actors.xtss.XtssClient`)
- :class:`~drwlab.actors.launcher.Launcher`
- :class:`~drwlab.actors.pipeline_driver.PipelineDriver`
- :class:`~drwlab.actors.replicated_cache.ReplicatedCache`
- :class:`~drwlab.actors.aqua_qa2.AquaQA2` (and the terminal UI in ``aqua_tui``)
- :class:`~drwlab.actors.product_ingestor.ProductIngestor`
- :class:`~drwlab.actors.data_tracker.DataTracker`
"""

from drwlab.actors.aqua_qa2 import AquaQA2, Review
from drwlab.actors.base import Actor
from drwlab.actors.data_tracker import DataTracker
from drwlab.actors.launcher import Launched, Launcher
from drwlab.actors.pipeline_driver import PipelineDriver
from drwlab.actors.product_ingestor import ProductIngestor
from drwlab.actors.replicated_cache import ReplicatedCache
from drwlab.actors.xtss import Xtss, XtssClient

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
]
