"""One SQLite file shared by many threads and processes, and the signal of its changes.

- Connections come from a pool (WAL mode, a busy timeout), each used by one
  thread at a time; a thread-local connection would outlive short-lived threads.
- A write transaction takes an in-process lock first (threads queue there,
  not in SQLite's sleeping busy handler), then ``BEGIN IMMEDIATE`` (processes
  queue in SQLite), so checks and writes inside it see no other writer.
- After each commit the writer bumps the generation of the database it wrote
  under a Condition, which wakes this process's waiters for that database at
  once (a waiter for ``status-entities`` sleeps through the message traffic
  of ``msgq``). Other processes' writes are noticed by one waiter at a time
  polling the file's highest ``seq`` (every document write takes a new one),
  which then bumps the generations of the databases written.
- A write made inside ``announced_later()`` skips that bump: it is left for the
  poll to notice, as another process's write is (the bus tells its own
  listeners of its writes itself; see ``Store.announced_later``).

A file does not survive ``fork``: start processes with ``spawn``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drwlab.errors import StoreUnavailable

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write transaction to end."""
POLL_INTERVAL = 0.005
"""Seconds between two checks for other processes' writes while someone waits."""

Token = tuple[int, int]
"""What ``token(db)`` gives: it changes when ``db`` may have changed."""


def latest_seq(conn: sqlite3.Connection) -> int:
    """The highest seq of the file (of any database): it grows with every document write."""
    return int(conn.execute("SELECT max(seq) FROM docs").fetchone()[0] or 0)


@contextmanager
def _committed(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE``, then ``COMMIT`` at the end, or ``ROLLBACK`` on an exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


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
        # under _changed: bumped when a database was written, or (_anything) when any may be
        self._generations: Counter[str] = Counter()
        self._anything = 0
        self._seen_seq = 0  # every write up to this seq has bumped its database's generation
        self._polling = False  # one waiter polls for other processes' writes
        self._later = threading.local()  # .on: this thread's writes are announced by the poll
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
        self._seen_seq = latest_seq(conn)
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
            self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        """Return ``conn`` to the pool with no transaction open.

        An exception raised into a thread between two statements (a listener
        crashed on purpose by ``drwlab.faults``) can leave one open: it would
        hold the file's write lock, and the next user of the connection could
        not begin its own.
        """
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                conn.close()
                return
        self._pool.give_back(conn)

    @contextmanager
    def transaction(self, db: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, to documents of ``db`` (None: maybe to any database).

        Waiters are told once it is committed, unless the thread writes inside
        ``announced_later()``: then the poll tells them, within POLL_INTERVAL.
        """
        if getattr(self._later, "on", False):
            # ``_seen_seq`` stays behind: the poll finds this write and tells
            with self._write_lock, self.connection() as conn, _committed(conn):
                yield conn
            return
        with self._write_lock, self.connection() as conn, _committed(conn):
            before = latest_seq(conn)  # no other writer can move it now
            yield conn
            after = latest_seq(conn)
        with self._changed:
            if db is None:
                self._anything += 1
            else:
                self._generations[db] += 1
            if before == self._seen_seq:  # else another process wrote first: the poller tells
                self._seen_seq = after
            self._changed.notify_all()

    @contextmanager
    def announced_later(self) -> Iterator[None]:
        """This thread's writes inside are announced by the poll, not at their commit."""
        before = getattr(self._later, "on", False)
        self._later.on = True
        try:
            yield
        finally:
            self._later.on = before

    def token(self, db: str) -> Token:
        """Pass to :meth:`await_change`: read it before checking ``db`` for a change."""
        with self._changed:
            return self._token(db)

    def _token(self, db: str) -> Token:
        return self._generations[db], self._anything

    def await_change(self, conn: sqlite3.Connection, db: str, token: Token, timeout: float) -> None:
        """Return when ``db`` may have changed since ``token`` was read, or at ``timeout``.

        ``conn`` is the caller's, used if it is the one to poll for other
        processes' writes.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                remaining = deadline - time.monotonic()
                if self._token(db) != token or remaining <= 0 or self._pool.closed:
                    return
                if not self._polling:
                    self._polling = True
                    break
                self._changed.wait(remaining)  # the poller or a writer wakes us
        try:
            self._poll(conn, db, token, deadline)
        finally:
            with self._changed:
                self._polling = False
                self._changed.notify_all()  # someone else polls from now on

    def _poll(self, conn: sqlite3.Connection, db: str, token: Token, deadline: float) -> None:
        while not self._pool.closed:
            with self._changed:
                if self._token(db) != token:
                    return
                self._changed.wait(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
                if self._token(db) != token:
                    return
            self._note_other_writes(conn)
            if time.monotonic() >= deadline:
                return

    def _note_other_writes(self, conn: sqlite3.Connection) -> None:
        """Bump the generations of the databases that other processes wrote."""
        latest = latest_seq(conn)
        with self._changed:
            seen = self._seen_seq
        if latest <= seen:
            return
        written = conn.execute("SELECT DISTINCT db FROM docs WHERE seq > ?", (seen,)).fetchall()
        with self._changed:
            self._seen_seq = max(self._seen_seq, latest)
            for (name,) in written:
                self._generations[name] += 1
            self._changed.notify_all()

    def close(self) -> None:
        """Close the connections (those in use once given back) and wake every waiter."""
        self._pool.close_idle()
        with self._changed:
            self._anything += 1
            self._changed.notify_all()
