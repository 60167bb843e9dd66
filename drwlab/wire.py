"""Wire-format names, written once: databases, status-entity flags, and shared defaults.

The original system's actors find each other's data by these names (a
database called ``status-entities``, a flag called ``PL_PROCESSING_EXECUTIVE``);
spelled out in several places they drift apart. Actors, views and tests
import them from here. This module imports nothing from drwlab, so anything
may import it.
"""

from __future__ import annotations

MSGQ = "msgq"
"""The message bus's queue of messages (and RPC replies)."""
STATUS_DB = "status-entities"
"""One status entity per OUS: state, substate, flags, history (XTSS's)."""
REPORTS_DB = "pipeline-reports"
"""The pipeline reports (base64 XML with QA scores) AQUA QA2 records."""
NGAS_DB = "ngas"
"""The NGAS archive's files (products and weblogs, contents base64)."""
METADATA_DB = "products-metadata"
"""One record per archived data product (the product ingestor's)."""
DELIVERY_DB = "delivery-status"
"""One delivery record per OUS (the product ingestor's and the data tracker's)."""

DATABASES: tuple[str, ...] = (MSGQ, STATUS_DB, REPORTS_DB, NGAS_DB, METADATA_DB, DELIVERY_DB)
"""Every database of the original system, in the order the tools list them."""
FAULTS_DB = "fault-events"
"""drwlab's own: one document per fault ``drwlab.faults`` injected. Not in ``DATABASES``
(the original has none such, and it exists only once a fault was injected)."""

EXECUTIVE_FLAG = "PL_PROCESSING_EXECUTIVE"
"""The status-entity flag naming the ARC (or JAO) that processes the OUS."""

DEFAULT_TIME_SCALE = 1.0
"""Simulated delays as the original's (``DRWLAB_TIME_SCALE`` unset); 0 means none."""
FAST_TIME_SCALE = 0.05
"""The test command's fast mode (``DRWLAB_TIME_SCALE`` in ./dev test and CI)."""
MAX_ATTEMPTS = 3
"""Deliveries of a message before the bus dead-letters it, unless told otherwise."""
DEFAULT_FAILURE_RATE = 0.1
"""Share of the mock pipeline's runs that fail unless told otherwise (about one in ten)."""


def time_scale_or_default(asked: float | None, from_environment: float | None = None) -> float:
    """The time scale to use: ``asked``, else the environment's, else the default.

    Raises ValueError for a negative scale.
    """
    value = asked if asked is not None else from_environment
    value = DEFAULT_TIME_SCALE if value is None else float(value)
    if value < 0:
        raise ValueError(f"time_scale must be >= 0, not {value!r}")
    return value
