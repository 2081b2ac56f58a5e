"""Manual re-sends (resend, recover, replays): put deliveries back in the queue, marked manual.

A re-queued row starts the retry schedule again from its first entry; its attempts are recorded
with trigger type 1 (manual). A row being sent right now is taken back too: the worker that
holds it records its attempt but no longer owns the row's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.delivery.jobs import Trigger
from hookhub.store.tables import delivery
from hookhub.store.types import utcnow


async def requeue_manual(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> int:
    """Queue every delivery matching ``where`` again, now, as a manual send."""
    now = utcnow()
    result = await conn.execute(
        delivery.update()
        .where(where)
        .values(
            status="pending",
            attempt_count=0,
            next_attempt_at=now,
            lease_expires_at=None,
            worker_id=None,
            trigger_type=int(Trigger.MANUAL),
            updated_at=now,
        )
    )
    return result.rowcount or 0


def created_between(column: sa.Column, since: datetime, until: datetime | None) -> sa.ColumnElement[bool]:
    """``since <= column`` (``< until`` when given)."""
    clause = column >= since
    return clause if until is None else sa.and_(clause, column < until)


async def insert_manual(
    conn: AsyncConnection, endpoint_id: str, message_ids: Sequence[str], now: datetime | None = None
) -> int:
    """New manual deliveries of these messages to one endpoint."""
    if not message_ids:
        return 0
    now = now or utcnow()
    rows = [
        {
            "id": ids.new_id("dlv"),
            "endpoint_id": endpoint_id,
            "message_id": message_id,
            "event_id": None,
            "status": "pending",
            "attempt_count": 0,
            "next_attempt_at": now,
            "trigger_type": int(Trigger.MANUAL),
            "created_at": now,
            "updated_at": now,
        }
        for message_id in message_ids
    ]
    await conn.execute(delivery.insert(), rows)
    return len(rows)


async def resend(conn: AsyncConnection, message_id: str, endpoint_id: str) -> None:
    """Send one message to one endpoint again (creating the delivery if there never was one)."""
    changed = await requeue_manual(
        conn, sa.and_(delivery.c.message_id == message_id, delivery.c.endpoint_id == endpoint_id)
    )
    if not changed:
        await insert_manual(conn, endpoint_id, [message_id])
