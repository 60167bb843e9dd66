"""Count what an outage made drwlab's loops say: one warning per loop, and their retries.

Every loop that talks to the store (``drwlab/outage.py``) logs a warning when
the store stops answering and an INFO line when it answers again; both carry
``outage``, ``who`` (and at the end ``failures``) as record attributes.
``OutageLog`` is a logging handler that keeps those records, so a test or a
notebook can show "5 loops warned once each; 23 retries" without parsing text::

    with OutageLog() as log:
        store.outage(5)
        ...
    log.warnings        # {"bus watcher": 1, "listener xtss-1": 1, ...}

The end lines are INFO: they reach the handler only if the ``drwlab`` logger
lets INFO through (``logging.getLogger("drwlab").setLevel(logging.INFO)``);
``UnreachableStore.refused`` counts the failed calls in any case.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from types import TracebackType

LOGGER = "drwlab"
"""The logger whose records (and its children's) are read."""


class OutageLog(logging.Handler):
    """Keeps the outage records of the ``drwlab`` loggers while attached (a context manager)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._records_lock = threading.Lock()
        self.warnings: Counter[str] = Counter()
        """Outage warnings by loop (``who``): 1 each is the rule, more is a flood."""
        self.recoveries: Counter[str] = Counter()
        """Outage ends logged by loop."""
        self.failures: Counter[str] = Counter()
        """Failed tries by loop, as told by their end lines."""

    @property
    def retries(self) -> int:
        """Failed tries of every loop whose outage end was logged."""
        with self._records_lock:
            return sum(self.failures.values())

    def emit(self, record: logging.LogRecord) -> None:
        what = getattr(record, "outage", None)
        who = str(getattr(record, "who", record.name))
        with self._records_lock:
            if what == "began":
                self.warnings[who] += 1
            elif what == "ended":
                self.recoveries[who] += 1
                self.failures[who] += int(getattr(record, "failures", 0))

    def __enter__(self) -> OutageLog:
        logging.getLogger(LOGGER).addHandler(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        logging.getLogger(LOGGER).removeHandler(self)
