"""Group commit: concurrent requests' events are written by one task, many per transaction.

``await writer.write(row)`` returns once the transaction holding the row has committed (the event
and its deliveries are durable). While a batch commits, new rows queue for the next one, so under
load one commit serves many requests. A batch that fails is retried row by row, so one bad row
(its source deleted a moment ago) fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.inbound import pg_batch
from hookhub.inbound.sqlite_batch import SqliteBatchWriter, sqlite_path
from hookhub.store.db import Database
from hookhub.store.fanout import enqueue_for_event
from hookhub.store.tables import endpoint, event

log = logging.getLogger("hookhub.inbound")
MAX_BATCH = 512


class EventWriter:
    def __init__(self, db: Database, on_deliveries: Callable[[], None], first_delay: float = 0.0) -> None:
        self._db = db
        self._first_delay = first_delay
        self._on_deliveries = on_deliveries
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        path = sqlite_path(db.url) if db.is_sqlite else None
        self._fast = SqliteBatchWriter(path) if path else None
        self._with_endpoints: set[str] = set()

    async def write(self, row: dict[str, Any]) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hookhub-event-writer")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._wake.set()
        await future

    async def start(self) -> None:
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._fast is not None:
            await self._fast.close()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self._process(batch)
            except BaseException as exc:
                # Never leave a request waiting forever (e.g. on shutdown cancellation).
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError("writer stopped")
                        )
                if not isinstance(exc, Exception):
                    raise

    async def _process(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        try:
            enqueued = await self._commit([row for row, _ in batch])
        except Exception:
            log.warning("event batch of %d failed; writing one by one", len(batch), exc_info=True)
            enqueued = await self._commit_singly(batch)
        else:
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        if enqueued:
            try:
                self._on_deliveries()
            except Exception:
                log.exception("waking the delivery workers failed")

    async def _commit_singly(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> bool:
        enqueued = False
        for row, future in batch:
            try:
                enqueued = await self._commit([row]) or enqueued
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(None)
        return enqueued

    async def _commit(self, rows: list[dict[str, Any]]) -> bool:
        if self._fast is not None and not self._with_endpoints.intersection(row["source_id"] for row in rows):
            with_endpoints = await self._fast.commit(rows)
            if not with_endpoints:
                return False
            # A hint only (the fast path checks every time); forgotten now and then.
            if len(self._with_endpoints) > 1000:
                self._with_endpoints.clear()
            self._with_endpoints |= with_endpoints
        async with self._db.write() as conn:
            if self._db.is_sqlite:
                await conn.execute(event.insert(), rows)
                return await enqueue_deliveries(conn, rows, first_delay=self._first_delay)
            with_endpoints = await pg_batch.sources_with_endpoints(conn, {row["source_id"] for row in rows})
            await pg_batch.insert_events(conn, rows)
            return await enqueue_deliveries(conn, rows, with_endpoints, first_delay=self._first_delay)


async def enqueue_deliveries(
    conn: AsyncConnection,
    rows: list[dict[str, Any]],
    with_endpoints: set[str] | None = None,
    *,
    first_delay: float = 0.0,
) -> bool:
    """Delivery rows for the events whose source has destinations; True when any were added."""
    if with_endpoints is None:
        source_ids = {row["source_id"] for row in rows}
        query = sa.select(endpoint.c.source_id).where(endpoint.c.source_id.in_(source_ids)).distinct()
        with_endpoints = set((await conn.execute(query)).scalars())
    if not with_endpoints:
        return False
    for row in rows:
        if row["source_id"] in with_endpoints:
            await enqueue_for_event(
                conn,
                source_id=row["source_id"],
                event_id=row["id"],
                event_type=row["event_type"],
                first_delay=first_delay,
            )
    return True
