"""One SQLite file shared by many threads and processes, and the signal of its changes.

- Connections come from a pool (WAL mode, a busy timeout), each used by one
  thread at a time; a thread-local connection would outlive short-lived threads.
- A write transaction takes an in-process lock first (threads queue there,
  not in SQLite's sleeping busy handler), then ``BEGIN IMMEDIATE`` (processes
  queue in SQLite), so checks and writes inside it see no other writer.
- After each commit the writer bumps a generation under a Condition, which
  wakes this process's waiters at once. Other processes' writes are noticed
  by one waiter at a time polling ``PRAGMA data_version`` (a counter SQLite
  moves when another connection commits), which then wakes the rest.

A file does not survive ``fork``: start processes with ``spawn``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drwlab.errors import StoreUnavailable

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write transaction to end."""
POLL_INTERVAL = 0.005
"""Seconds between two checks for other processes' writes while someone waits."""


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever another connection commits to the file."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


class _Pool:
    """Idle connections to one file: a user takes one, uses it alone, gives it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid = os.getpid()
        self.idle: deque[sqlite3.Connection] = deque()
        self.closed = False

    def open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=512,
        )
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def take(self) -> sqlite3.Connection:
        if os.getpid() != self.pid:  # forked: the parent's connections are not ours
            self.pid, self.idle = os.getpid(), deque()
        try:
            return self.idle.pop()
        except IndexError:
            return self.open()

    def give_back(self, conn: sqlite3.Connection) -> None:
        self.idle.append(conn)
        if self.closed:
            self.close_idle()

    def close_idle(self) -> None:
        """Close the idle connections; those in use are closed when given back."""
        self.closed = True
        while True:
            try:
                self.idle.pop().close()
            except IndexError:
                return


class SharedFile:
    """The SQLite file ``path`` with ``schema`` applied; sqlite3.Error if it cannot be."""

    def __init__(self, path: Path, schema: str, label: str) -> None:
        self.label = label
        self._pool = _Pool(path)
        self._write_lock = threading.Lock()
        self._changed = threading.Condition()
        self._generation = 0  # bumped (under _changed) whenever a change may have happened
        self._polling = False  # one waiter polls for other processes' writes
        conn = self._pool.open()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in schema.split(";"):
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._pool.give_back(conn)

    @property
    def closed(self) -> bool:
        return self._pool.closed

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for this thread alone; SQLite errors become StoreUnavailable."""
        if self._pool.closed:
            raise StoreUnavailable(f"{self.label} is closed")
        conn = self._pool.take()
        try:
            yield conn
        except sqlite3.Error as error:
            raise StoreUnavailable(f"{self.label}: {error}") from error
        finally:
            self._pool.give_back(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; waiters are told once it is committed."""
        with self._write_lock, self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._notify()

    def generation(self) -> int:
        """Pass to :meth:`await_change`: read it before checking for a change."""
        with self._changed:
            return self._generation

    def await_change(
        self, conn: sqlite3.Connection, generation: int, version: int, timeout: float
    ) -> None:
        """Return when this process writes, another process seems to, or at ``timeout``.

        ``generation`` and ``version`` (``data_version(conn)``) were read before
        the caller's last check, so no write slips in between.
        """
        with self._changed:
            if self._generation != generation:
                return
            if self._polling:
                self._changed.wait(timeout)  # the poller or a writer wakes us
                return
            self._polling = True
        try:
            self._poll(conn, generation, version, time.monotonic() + timeout)
        finally:
            with self._changed:
                self._polling = False
                self._changed.notify_all()  # someone else polls from now on

    def _poll(
        self, conn: sqlite3.Connection, generation: int, version: int, deadline: float
    ) -> None:
        while not self._pool.closed:
            with self._changed:
                if self._generation == generation:
                    self._changed.wait(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
                if self._generation != generation:
                    return
            if data_version(conn) != version:
                self._notify()
                return
            if time.monotonic() >= deadline:
                return

    def _notify(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def close(self) -> None:
        """Close the connections (those in use once given back) and wake every waiter."""
        self._pool.close_idle()
        self._notify()
