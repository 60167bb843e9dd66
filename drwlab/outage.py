"""How a background loop behaves while the store is down: warn once, back off, say when it is back.

Every thread that talks to the store in a loop (bus listeners, the bus
watcher, actor loops, dashboard feeds) meets an outage of the CouchDB server
the same way. Logging each failed retry would bury the one line that matters
under dozens per thread, and retrying at a fixed pace would hammer a server
that is trying to come back; so the first failure is a warning, later ones
are DEBUG, the pause doubles up to a ceiling (with jitter, so threads do not
retry in step), and the first success after a failure is logged at INFO with
how long it lasted.

Both lines carry ``outage`` (``"began"`` or ``"ended"``) and ``who`` as record
attributes, and the end line ``failures`` (the failed tries) and ``lasted``
(seconds), so a handler can count outages and retries without parsing text
(``drwlab.faults.OutageLog`` does).
"""

from __future__ import annotations

import logging
import random
import time

FIRST_PAUSE = 0.5
"""Seconds before the first retry."""
LONGEST_PAUSE = 8.0
"""Ceiling of the pause: a server back up is noticed within about this long."""
JITTER = 0.2
"""Each pause is stretched or shrunk by up to this fraction."""


class StoreOutage:
    """Back-off and logging for one loop; ``who`` names the loop in log lines.

    Call ``failed(error)`` when a store call raised and sleep for what it returns;
    call ``recovered()`` after each store call that succeeded.
    """

    def __init__(
        self,
        logger: logging.Logger,
        who: str,
        *,
        first: float = FIRST_PAUSE,
        longest: float = LONGEST_PAUSE,
    ) -> None:
        self._logger = logger
        self._who = who
        self._first = first
        self._longest = longest
        self._pause = 0.0
        self._since: float | None = None
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        """True between a failure and the next success."""
        return self._since is not None

    def failed(self, error: BaseException) -> float:
        """Note a failed store call; return the seconds to wait before trying again."""
        self._failures += 1
        if self._since is None:
            self._since = time.monotonic()
            self._pause = self._first
            self._logger.warning(
                "%s: %s; retrying with back-off (up to every %.0f s) until it answers",
                self._who,
                error,
                self._longest,
                extra={"outage": "began", "who": self._who},
            )
        else:
            self._pause = min(self._longest, self._pause * 2)
            self._logger.debug("%s: still failing (%s)", self._who, error)
        return self._pause * random.uniform(1 - JITTER, 1 + JITTER)

    def recovered(self) -> None:
        """Note a store call that succeeded; log the end of an outage if one was on."""
        if self._since is None:
            return
        lasted = time.monotonic() - self._since
        self._logger.info(
            "%s: the store answers again after %.1f s (%d failed tries)",
            self._who,
            lasted,
            self._failures,
            extra={
                "outage": "ended",
                "who": self._who,
                "failures": self._failures,
                "lasted": lasted,
            },
        )
        self._since = None
        self._failures = 0
