"""Short SQLite write transactions run on the event loop's own thread.

Batches (group-committed events and messages, delivery claims) are synchronous code that takes
well under a millisecond per batch. Handing each to a thread cost more than the work itself:
the executor's wake-up, the result's ``call_soon_threadsafe`` and the GIL passing back and forth
between the two threads on every statement. Run inline, a batch is a plain function call.

The loop must never wait on SQLite's lock, so this connection has no busy timeout: when another
process holds the write lock, ``BEGIN IMMEDIATE`` fails at once and is retried after an
``asyncio.sleep`` that lets the loop go on serving (the same back-off SQLite's busy handler
would sleep through, for as long as ``busy_timeout``).

Checkpoints (copying the WAL back into the database file, with two fsyncs) would stall the loop
for milliseconds at a time, so this connection never checkpoints at commit; a ``Checkpointer``
thread does it, in the background, every ``CHECKPOINT_EVERY`` commits.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

log = logging.getLogger("hookhub.store")
T = TypeVar("T")
FIRST_RETRY_SECONDS = 0.0005
LONGEST_RETRY_SECONDS = 0.02
CHECKPOINT_EVERY = 64  # commits; a busy ingest commits a few hundred times a second


class InlineSqliteWriter:
    def __init__(self, engine: sa.Engine, busy_timeout: float) -> None:
        self._engine = engine  # configured without a busy timeout and without a BEGIN of its own
        self._busy_timeout = busy_timeout
        self._conn: sa.Connection | None = None
        self._checkpointer = Checkpointer(str(engine.url.database))
        self._commits = 0

    def _connection(self) -> sa.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._engine.connect()
            self._conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        return self._conn

    async def run(self, fn: Callable[[sa.Connection], T]) -> T:
        """``fn(connection)`` in one ``BEGIN IMMEDIATE`` transaction: committed, or rolled back
        if it raises. The caller makes sure no other writer of this process is active."""
        conn = self._connection()
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        await _begin_immediate(driver, self._busy_timeout)
        try:
            result = fn(conn)
            conn.commit()  # SQLAlchemy's view of the transaction, if ``fn`` used it
            if driver.in_transaction:
                driver.execute("COMMIT")
        except BaseException:
            conn.rollback()
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpointer.request()
        return result

    def close(self) -> None:
        self._checkpointer.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()


class Checkpointer:
    """A thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` when asked (never blocks writers)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hookhub-sqlite-checkpoint", daemon=True)
            self._thread.start()
        self._wanted.set()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wanted.set()
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # the next request tries again
                    log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            conn.close()


async def _begin_immediate(driver: sqlite3.Connection, busy_timeout: float) -> None:
    delay = FIRST_RETRY_SECONDS
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            driver.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, LONGEST_RETRY_SECONDS)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
