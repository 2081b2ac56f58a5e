"""The database handle: one async engine, read and write transactions, migrations.

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so that two writers
queue on the lock instead of failing when a deferred transaction tries to upgrade. Batches
(``run_write``) run on the event loop's thread (``sqlite_inline``).

Every transaction is bounded in time and its connectivity errors are translated here, at one
boundary, into ``DatabaseUnavailable`` (``store/outage.py``): PostgreSQL connections have connect
and statement timeouts (a stalled server is an outage, not a hang), a pooled connection whose
server went away is dropped when it is checked out instead of failing the request it was
handed to, and a batch whose connection broke before it committed is run once more.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hookhub.store.outage import (
    DatabaseUnavailable,
    describe,
    is_broken_connection,
    is_outage,
    raise_if_unstorable,
)
from hookhub.store.sqlite_binding import register_identity_adapters
from hookhub.store.sqlite_inline import InlineSqliteWriter

log = logging.getLogger("hookhub.store")
_WRITE = "hookhub_write"
BUSY_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
STATEMENT_TIMEOUT_SECONDS = 10.0
# While the database stays unreachable, one warning this often rather than one per request.
OUTAGE_LOG_SECONDS = 30.0
T = TypeVar("T")


class _BrokeBeforeCommit(Exception):
    """A batch's connection broke while it ran: nothing was committed, it may run again."""


def async_url(url: str) -> str:
    """Map the user-facing URL (sqlite:///…, postgresql://…) to its async driver."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        statement_timeout: float | None = STATEMENT_TIMEOUT_SECONDS,
        durable: bool = True,
    ) -> None:
        """``durable``: on SQLite, a write returns once it is on disk (fsync), not only in the
        file (which survives the process being killed, not a power cut)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.durable = durable
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            kwargs = {
                "pool_size": pool_size,
                "max_overflow": pool_size * 2,
                "pool_timeout": connect_timeout,
                # asyncpg's own timeouts: they hold when the server stops answering altogether.
                "connect_args": {"timeout": connect_timeout, "command_timeout": statement_timeout},
            }
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine.sync_engine, synchronous="FULL" if durable else "NORMAL")
        else:
            sa_event.listen(self.engine.sync_engine, "checkout", _drop_closed_connection)
            sa_event.listen(self.engine.sync_engine, "handle_error", _broken_connection)
        self.outage: str | None = None  # why the last transaction could not reach the database
        self._outage_logged_at = 0.0
        self.reachable_again_at = 0.0  # time.monotonic() when the last outage this process saw ended
        # SQLite has one writer at a time; queueing writers here avoids the busy handler's sleeps.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._write_owner: asyncio.Task[Any] | None = None
        # A second connection only sees the same data when the database is a file.
        self._own_file = self.is_sqlite and sa.make_url(self.url).database not in (None, "", ":memory:")
        self._inline: InlineSqliteWriter | None = None

    @property
    def batches_in_flight(self) -> int:
        """How many group-committed batches of one writer may be under way at once: on
        PostgreSQL each has a connection of its own; on SQLite one commits while the last one's
        fsync runs."""
        return 2 if self.is_sqlite else 4

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on error."""
        try:
            async with self._write_transaction() as conn:
                yield conn
        except Exception as exc:
            self._raise_if_outage(exc)
            raise_if_unstorable(exc)
            raise
        self._reachable()

    @asynccontextmanager
    async def _write_transaction(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is None:
            async with self.engine.connect() as conn, _dropped_if_broken(conn):
                await conn.execution_options(**{_WRITE: True})
                async with conn.begin():
                    yield conn
            return
        async with self._one_writer(), self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _one_writer(self) -> AsyncIterator[None]:
        """SQLite writers of this process take turns. A write nested in another one of the same
        task would wait for itself forever, so it is an error instead."""
        assert self._write_lock is not None
        task = asyncio.current_task()
        if task is not None and task is self._write_owner:
            raise RuntimeError("nested Database.write(): SQLite has one write transaction at a time")
        async with self._write_lock:
            self._write_owner = task
            try:
                yield
            finally:
                self._write_owner = None

    async def run_write(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn(connection)`` (synchronous SQLAlchemy Core code, short) as one write transaction.

        For batches of many statements: on a SQLite file ``fn`` runs on the event loop's thread
        with a connection of its own (no hand-off to a driver thread per statement); elsewhere it
        runs through ``AsyncConnection.run_sync``. ``fn`` may run twice: when the connection
        breaks while it runs (nothing committed), it runs again once on a fresh one.
        """
        try:
            try:
                result = await self._run_write_once(fn)
            except _BrokeBeforeCommit:
                result = await self._run_write_once(fn)
        except _BrokeBeforeCommit as exc:
            cause = exc.__cause__
            assert isinstance(cause, Exception)
            self._raise_if_outage(cause)
            raise cause from None
        except Exception as exc:
            self._raise_if_outage(exc)
            raise
        self._reachable()
        return result

    async def _run_write_once(self, fn: Callable[[sa.Connection], T]) -> T:
        if self._write_lock is None or not self._own_file:
            async with self._write_transaction() as conn:
                try:
                    return await conn.run_sync(fn)
                except Exception as exc:
                    if is_broken_connection(exc):
                        raise _BrokeBeforeCommit from exc
                    raise
        if self._inline is None:
            url = sa.make_url(self.url).set(drivername="sqlite")
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            _configure_sqlite(engine, busy_timeout_ms=0, emit_begin=False)
            self._inline = InlineSqliteWriter(engine, BUSY_TIMEOUT_SECONDS, durable=self.durable)
        inline = self._inline
        async with self._one_writer():
            result = await inline.run(fn)
            commit = inline.commits
        await inline.on_disk(commit)  # outside the lock: the next batch commits meanwhile
        return result

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn, _dropped_if_broken(conn), conn.begin():
                yield conn
        except Exception as exc:
            self._raise_if_outage(exc)
            raise
        self._reachable()

    def _raise_if_outage(self, exc: Exception) -> None:
        """Raise ``DatabaseUnavailable`` from ``exc`` when it means the database cannot be reached."""
        if isinstance(exc, DatabaseUnavailable) or not is_outage(exc):
            return
        self.outage = describe(exc)
        now = time.monotonic()
        if now - self._outage_logged_at >= OUTAGE_LOG_SECONDS:
            self._outage_logged_at = now
            log.warning("database unavailable: %s", self.outage)
        raise DatabaseUnavailable(f"The database is unavailable ({self.outage}); retry later.") from exc

    def _reachable(self) -> None:
        if self.outage is not None:
            log.warning("database reachable again (after: %s)", self.outage)
            self.outage = None
            self._outage_logged_at = 0.0
            self.reachable_again_at = time.monotonic()

    async def migrate(self) -> None:
        """Upgrade the schema to the newest migration (on a connection without statement
        timeout: a migration of a large table may take long)."""
        from hookhub.store.migrate import upgrade_to_head

        engine = self.engine
        if not self.is_sqlite:
            engine = create_async_engine(
                async_url(self.url),
                poolclass=sa.pool.NullPool,
                connect_args={"timeout": CONNECT_TIMEOUT_SECONDS, "command_timeout": None},
            )
        try:
            async with engine.connect() as conn:
                if self.is_sqlite:  # BEGIN IMMEDIATE: concurrent migrations queue on the lock
                    await conn.execution_options(**{_WRITE: True})
                await conn.run_sync(upgrade_to_head)
                await conn.commit()
        finally:
            if engine is not self.engine:
                await engine.dispose()

    async def close(self) -> None:
        await self.engine.dispose()
        if self._inline is not None:
            self._inline.close()
            self._inline = None


def _drop_closed_connection(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A pooled connection whose server closed it (restart, ``pg_terminate_backend``) is
    replaced at checkout, without a round trip: asyncpg already knows its socket is closed."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


def _create_private(path: Path) -> None:
    """Create the database file for its owner only: it holds secrets, and SQLite gives the WAL and
    shared-memory files it makes later the database file's permissions. An existing file keeps
    its own."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # whatever the umask took away or would have left
    finally:
        os.close(fd)


@asynccontextmanager
async def _dropped_if_broken(conn: AsyncConnection) -> AsyncIterator[None]:
    """A connection that fails with an error saying it can run nothing more is dropped rather
    than put back in the pool for the next request to fail on."""
    try:
        yield
    except Exception as exc:
        broken = exc.__cause__ if isinstance(exc, _BrokeBeforeCommit) else exc
        if is_broken_connection(broken) and not conn.invalidated:
            await conn.invalidate(broken if isinstance(broken, BaseException) else None)
        raise


def _broken_connection(context: Any) -> None:
    """A connection asyncpg left between two states (its server went away mid-statement: "cannot
    switch to state …; another operation is in progress") can run nothing more: treat it as a
    disconnect, so SQLAlchemy drops it (and the pool's older ones) and the caller gets a 503."""
    error = context.original_exception
    if (
        type(error).__name__ == "InternalClientError"
        or type(error.__cause__).__name__ == "InternalClientError"
    ):
        context.is_disconnect = True


def _configure_sqlite(
    sync_engine: sa.Engine,
    *,
    busy_timeout_ms: int = int(BUSY_TIMEOUT_SECONDS * 1000),
    emit_begin: bool = True,
    synchronous: str = "NORMAL",
) -> None:
    register_identity_adapters()
    path = sync_engine.url.database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _create_private(Path(path))

    @sa_event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if not emit_begin:  # the caller begins transactions itself
        return

    @sa_event.listens_for(sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")
