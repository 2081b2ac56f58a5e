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

A passive checkpoint never catches up with a writer that commits all the time, and SQLite only
starts the WAL over once a checkpoint has copied all of it: under sustained load the WAL grew by
tens of megabytes a second, and every read of a page grew slower with it (the WAL index is
searched one 4,096-frame segment at a time). So once the WAL holds ``RESTART_AFTER_FRAMES``, the
thread follows its passive checkpoint with a RESTART one, which needs the write lock for the
little copying that is left; this connection stops taking the lock until it is done (the loop
goes on serving, requests gather into the next batch), and its next transaction writes the WAL
from the start.

Durability: the connection commits with ``synchronous=NORMAL`` (the commit writes the WAL but
does not fsync it, which would stall the loop for milliseconds), and when the database is
``durable`` (the default) ``WalSync`` then fsyncs the WAL file on a thread before the caller is
answered. Commits made while an fsync runs are covered by the next one: under load one fsync
serves many batches, each of many requests. An fsync of the WAL makes its commit frames
survive a power cut, as SQLite's own ``synchronous=FULL`` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
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
RESTART_AFTER_FRAMES = 4096  # 16 MiB of WAL at the default page size
CHECKPOINT_BUSY_TIMEOUT_MS = 200  # a RESTART waits this long for other writers and readers
RESTART_WAIT_SECONDS = 2.0  # the writer's bound on waiting for a RESTART (it normally takes ms)


class InlineSqliteWriter:
    def __init__(self, engine: sa.Engine, busy_timeout: float, *, durable: bool = True) -> None:
        self._engine = engine  # configured without a busy timeout and without a BEGIN of its own
        self._busy_timeout = busy_timeout
        self._conn: sa.Connection | None = None
        self._checkpointer = Checkpointer(str(engine.url.database))
        self.commits = 0
        self.wal_sync = WalSync(str(engine.url.database) + "-wal") if durable else None

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
        if self._checkpointer.restarting:
            await self._checkpointer.restarted(RESTART_WAIT_SECONDS)
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
        self.commits += 1
        if self.wal_sync is not None:
            self.wal_sync.committed = self.commits
        if self.commits % CHECKPOINT_EVERY == 0:
            self._checkpointer.request()
        return result

    async def on_disk(self, commit: int) -> None:
        """Return once commit number ``commit`` has reached the disk (at once unless durable)."""
        if self.wal_sync is not None:
            await self.wal_sync.covered(commit)

    def close(self) -> None:
        self._checkpointer.stop()
        if self.wal_sync is not None:
            self.wal_sync.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()


class WalSync:
    """fsync the WAL file on a thread; every commit made before an fsync starts is covered by it."""

    def __init__(self, wal_path: str) -> None:
        self._path = wal_path
        self._fd: int | None = None
        self.committed = 0  # the writer's commit count
        self._synced = 0  # commits known to be on disk
        self._running: asyncio.Future[None] | None = None

    async def covered(self, commit: int) -> None:
        while self._synced < commit:
            if self._running is None:
                self._running = asyncio.ensure_future(self._sync(self.committed))
            await asyncio.shield(self._running)

    async def _sync(self, upto: int) -> None:
        try:
            await asyncio.to_thread(self._fsync)
            self._synced = max(self._synced, upto)
        finally:
            self._running = None

    def _fsync(self) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDONLY)
            # The WAL was created by this process's first write: make its directory entry durable too.
            directory = os.open(os.path.dirname(os.path.abspath(self._path)), os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Checkpointer:
    """A thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` when asked (never blocks writers),
    and RESTART when the WAL has grown past ``RESTART_AFTER_FRAMES`` (blocks them briefly)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.restarting = False  # set by the thread while a RESTART checkpoint is under way

    def request(self) -> None:
        """Ask for a checkpoint (from the event loop's thread)."""
        self._loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hookhub-sqlite-checkpoint", daemon=True)
            self._thread.start()
        self._wanted.set()

    async def restarted(self, timeout: float) -> None:
        """Wait until the RESTART under way is over (or ``timeout``)."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._waiter), timeout)
        except TimeoutError:
            log.warning("a WAL restart took longer than %.1f s; writing on", timeout)

    def _wake_writer(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wanted.set()
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                try:
                    _busy, wal_frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if wal_frames >= RESTART_AFTER_FRAMES:
                        self._restart(conn)
                except sqlite3.Error:  # the next request tries again
                    log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            conn.close()

    def _restart(self, conn: sqlite3.Connection) -> None:
        self.restarting = True
        try:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()  # busy after the timeout: next time
        finally:
            self.restarting = False
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    self._loop.call_soon_threadsafe(self._wake_writer)


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
