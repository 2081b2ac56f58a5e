"""The queue of operational webhooks in the database: claim the due ones, settle each try.

Rows are inserted with the delivery results that caused them (``queue.record``). A claim leases
rows to one worker (PostgreSQL skips rows another worker has locked; SQLite has one writer);
a worker that dies leaves its lease to run out, then any worker takes the row again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.tables import operational_webhook as outbox
from hookhub.store.types import utcnow


def insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Queue rows inside the caller's (synchronous) transaction."""
    conn.execute(outbox.insert(), rows)


async def store(db: Database, rows: list[dict[str, Any]]) -> None:
    """Queue rows in a transaction of their own."""
    async with db.write() as conn:
        await conn.execute(outbox.insert(), rows)


async def claim_due(db: Database, now: datetime, lease_seconds: float, limit: int) -> list[Any]:
    """Lease up to ``limit`` due rows: (id, event_type, body, attempt_count)."""
    async with db.write() as conn:
        rows = (
            await conn.execute(
                sa.select(outbox.c.id, outbox.c.event_type, outbox.c.body, outbox.c.attempt_count)
                .where(
                    outbox.c.next_attempt_at <= now,
                    sa.or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now),
                )
                .order_by(outbox.c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if rows:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id.in_([row.id for row in rows]))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
    return list(rows)


async def settle(db: Database, webhook_id: str, attempts_made: int, retry_in: float | None) -> None:
    """After a try: due again in ``retry_in`` seconds, or gone (delivered, or given up: None)."""
    async with db.write() as conn:
        if retry_in is None:
            await conn.execute(outbox.delete().where(outbox.c.id == webhook_id))
            return
        await conn.execute(
            outbox.update()
            .where(outbox.c.id == webhook_id)
            .values(
                attempt_count=attempts_made,
                next_attempt_at=utcnow() + timedelta(seconds=retry_in),
                lease_expires_at=None,
            )
        )
