"""Repository-wide pytest hooks (tests/ and the notebooks run by nbmake).

With ``DRWLAB_NO_SKIPS=1`` (set by ``./dev test``, hence by CI) a skipped test
fails the run: a test that skips because a server, a browser or rsync is
missing would otherwise let a broken install look green.

``./dev test`` runs the suite in two pytest-xdist workers (``-n 2 --dist
loadgroup``). Most tests spend their time waiting for actors, servers and
subprocesses, so a second worker nearly halves the run. The tests marked
``slow`` (the load, kill and outage runs) form one group that a single worker
runs one after the other, first, while the other worker takes the rest: the
two load runs each keep both cores busy and must not also share them with
each other, and the kill runs time leases.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ("tests.reliability.figures",)

SLOW_GROUP = "slow"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the slow tests first, in one xdist group: one worker starts them at once."""
    slow: list[pytest.Item] = []
    rest: list[pytest.Item] = []
    for item in items:
        (rest if item.get_closest_marker("slow") is None else slow).append(item)
    for item in slow:
        item.add_marker(pytest.mark.xdist_group(SLOW_GROUP))
    items[:] = slow + rest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("DRWLAB_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(
            f"DRWLAB_NO_SKIPS: {len(skipped)} test(s) skipped; every test must run here",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
