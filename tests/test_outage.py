"""StoreOutage: what every retrying loop does while the store is down."""

from __future__ import annotations

import logging

import pytest

from drwlab.errors import StoreUnavailable
from drwlab.outage import JITTER, StoreOutage

LOGGER = "drwlab.test-outage"


def test_an_outage_is_warned_once_and_its_end_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    outage = StoreOutage(logging.getLogger(LOGGER), "listener x")
    error = StoreUnavailable("find in msgq: http://127.0.0.1:1 cannot be reached")
    for _ in range(6):
        outage.failed(error)
    assert outage.ongoing
    outage.recovered()
    assert not outage.ongoing
    outage.recovered()  # nothing more to say
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1 and "listener x" in warnings[0] and "cannot be reached" in warnings[0]
    assert len(infos) == 1 and "6 failed tries" in infos[0], infos


def test_the_pause_doubles_up_to_its_ceiling_and_starts_over_after_recovery() -> None:
    outage = StoreOutage(logging.getLogger(LOGGER), "loop", first=0.5, longest=8.0)
    error = StoreUnavailable("down")
    pauses = [outage.failed(error) for _ in range(7)]
    nominal = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for pause, expected in zip(pauses, nominal, strict=True):
        assert expected * (1 - JITTER) <= pause <= expected * (1 + JITTER)
    outage.recovered()
    assert outage.failed(error) <= 0.5 * (1 + JITTER)
