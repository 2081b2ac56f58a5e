"""The database handle: one async engine, read and write transactions, migrations.

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so that two writers
queue on the lock instead of failing when a deferred transaction tries to upgrade. Batches
(``run_write``) run on the event loop's thread (``sqlite_inline``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hookhub.store.sqlite_binding import register_identity_adapters
from hookhub.store.sqlite_inline import InlineSqliteWriter

_WRITE = "hookhub_write"
BUSY_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")


def async_url(url: str) -> str:
    """Map the user-facing URL (sqlite:///…, postgresql://…) to its async driver."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            kwargs = {"pool_size": pool_size, "max_overflow": pool_size * 2}
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine.sync_engine)
        # SQLite has one writer at a time; queueing writers here avoids the busy handler's sleeps.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._write_owner: asyncio.Task[Any] | None = None
        # A second connection only sees the same data when the database is a file.
        self._own_file = self.is_sqlite and sa.make_url(self.url).database not in (None, "", ":memory:")
        self._inline: InlineSqliteWriter | None = None

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on exit, rolled back on error."""
        if self._write_lock is None:
            async with self.engine.connect() as conn:
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
        runs through ``AsyncConnection.run_sync``.
        """
        if self._write_lock is None or not self._own_file:
            async with self.write() as conn:
                return await conn.run_sync(fn)
        if self._inline is None:
            url = sa.make_url(self.url).set(drivername="sqlite")
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            _configure_sqlite(engine, busy_timeout_ms=0, emit_begin=False)
            self._inline = InlineSqliteWriter(engine, BUSY_TIMEOUT_SECONDS)
        async with self._one_writer():
            return await self._inline.run(fn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def migrate(self) -> None:
        from hookhub.store.migrate import upgrade_to_head

        async with self.engine.connect() as conn:
            await conn.run_sync(upgrade_to_head)
            await conn.commit()

    async def close(self) -> None:
        await self.engine.dispose()
        if self._inline is not None:
            self._inline.close()
            self._inline = None


def _configure_sqlite(
    sync_engine: sa.Engine,
    *,
    busy_timeout_ms: int = int(BUSY_TIMEOUT_SECONDS * 1000),
    emit_begin: bool = True,
) -> None:
    register_identity_adapters()
    path = sync_engine.url.database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    @sa_event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if not emit_begin:  # the caller begins transactions itself
        return

    @sa_event.listens_for(sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")
