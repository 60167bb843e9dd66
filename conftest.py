"""Repository-wide pytest hooks (tests/ and the notebooks run by nbmake).

With ``DRWLAB_NO_SKIPS=1`` (set by ``./dev test``, hence by CI) a skipped test
fails the run: a test that skips because a server, a browser or rsync is
missing would otherwise let a broken install look green.
"""

from __future__ import annotations

import os

import pytest


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
