"""The retention cleaner: what has outlived its retention period goes, in small batches.

- inbound events past ``expires_at`` (their source's retentionDays) are deleted;
- message payloads past ``payload_expires_at`` (payloadRetentionPeriod, default
  HOOKHUB_MESSAGE_RETENTION_DAYS) are removed, the message itself and its attempts stay;
- Idempotency-Keys past their 24 h are forgotten;
- background tasks that ended more than 90 days ago are deleted (Svix lists the last 90 days);
- inbound de-duplication keys past their window are forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.outage import log_failure
from hookhub.store.tables import background_task, event, event_dedupe, idempotency_key, message
from hookhub.store.types import utcnow

log = logging.getLogger("hookhub.retention")
BATCH = 1000
TASKS_KEPT = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Cleaned:
    events: int = 0
    message_payloads: int = 0
    idempotency_keys: int = 0
    background_tasks: int = 0
    dedupe_keys: int = 0


class RetentionCleaner:
    def __init__(self, db: Database, interval_seconds: float = 60.0) -> None:
        self._db = db
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="hookhub-retention")

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
                log_failure(log, "retention cleanup failed")
            await asyncio.sleep(self._interval)

    async def clean(self) -> Cleaned:
        now = utcnow()
        expired_events = sa.select(event.c.id).where(event.c.expires_at < now).limit(BATCH)
        expired_payloads = (
            sa.select(message.c.id)
            .where(message.c.payload_expires_at < now, message.c.payload.is_not(None))
            .limit(BATCH)
        )
        expired_keys = (
            sa.select(idempotency_key.c.scope_key).where(idempotency_key.c.expires_at <= now).limit(BATCH)
        )
        old_tasks = (
            sa.select(background_task.c.id)
            .where(background_task.c.status != "running", background_task.c.updated_at < now - TASKS_KEPT)
            .limit(BATCH)
        )
        return Cleaned(
            events=await self._in_batches(
                event.delete().where(event.c.id.in_(expired_events.scalar_subquery()))
            ),
            message_payloads=await self._in_batches(
                message.update()
                .where(message.c.id.in_(expired_payloads.scalar_subquery()))
                .values(payload=None)
            ),
            idempotency_keys=await self._in_batches(
                idempotency_key.delete().where(
                    idempotency_key.c.scope_key.in_(expired_keys.scalar_subquery())
                )
            ),
            background_tasks=await self._in_batches(
                background_task.delete().where(background_task.c.id.in_(old_tasks.scalar_subquery()))
            ),
            dedupe_keys=await self._in_batches(
                event_dedupe.delete().where(
                    sa.tuple_(event_dedupe.c.source_id, event_dedupe.c.key).in_(
                        sa.select(event_dedupe.c.source_id, event_dedupe.c.key)
                        .where(event_dedupe.c.expires_at < now)
                        .limit(BATCH)
                    )
                )
            ),
        )

    async def _in_batches(self, statement: sa.Executable) -> int:
        """Run ``statement`` (limited to BATCH rows) until it touches fewer than BATCH."""
        total = 0
        while True:
            async with self._db.write() as conn:
                result = await conn.execute(statement)
            total += result.rowcount or 0
            if (result.rowcount or 0) < BATCH:
                return total
