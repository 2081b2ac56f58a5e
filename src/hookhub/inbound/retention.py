"""Deletes inbound events past their ``expires_at`` (the source's retentionDays), in small batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.tables import event
from hookhub.store.types import utcnow

log = logging.getLogger("hookhub.inbound")
BATCH = 1000


class RetentionCleaner:
    def __init__(self, db: Database, interval_seconds: float = 60.0) -> None:
        self._db = db
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="hookhub-event-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                await self.clean()
            except Exception:
                log.exception("event retention cleanup failed")
            await asyncio.sleep(self._interval)

    async def clean(self) -> int:
        """Delete every expired event; returns how many."""
        total = 0
        while True:
            async with self._db.write() as conn:
                expired = sa.select(event.c.id).where(event.c.expires_at < utcnow()).limit(BATCH)
                result = await conn.execute(event.delete().where(event.c.id.in_(expired.scalar_subquery())))
            total += result.rowcount or 0
            if (result.rowcount or 0) < BATCH:
                return total
