"""Per-endpoint throttleRate shared by every worker process, kept in the database.

Each endpoint has one row holding the earliest time of its next send. Reserving a slot is one
atomic UPDATE … RETURNING (a GCRA with a burst of one): the slot is ``max(next_slot, now)`` and
``next_slot`` moves on by ``1 / rate``. The database is already shared by all workers and
serialises the update, so no Redis is needed and the limit holds across machines.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.tables import endpoint_throttle
from hookhub.store.upsert import insert_ignore

# A reserved slot this close in the future is waited for in the worker; later ones are requeued.
WAIT_WINDOW_SECONDS = 1.0


async def reserve(db: Database, endpoint_id: str, rate: int) -> float | None:
    """Reserve the next send slot: seconds to wait before sending, or None if the next free slot
    is more than WAIT_WINDOW_SECONDS away (nothing is reserved then; try again later)."""
    interval = 1.0 / rate
    now = time.time()
    slot = sa.case((endpoint_throttle.c.next_slot > now, endpoint_throttle.c.next_slot), else_=now)
    async with db.write() as conn:
        await conn.execute(
            insert_ignore(endpoint_throttle, db.dialect).values(endpoint_id=endpoint_id, next_slot=now)
        )
        reserved = await conn.scalar(
            sa.update(endpoint_throttle)
            .where(
                endpoint_throttle.c.endpoint_id == endpoint_id,
                endpoint_throttle.c.next_slot <= now + WAIT_WINDOW_SECONDS,
            )
            .values(next_slot=slot + interval)
            .returning(endpoint_throttle.c.next_slot)
        )
    if reserved is None:
        return None
    return max(reserved - interval - now, 0.0)


async def next_free_in(db: Database, endpoint_id: str) -> float:
    """Seconds until the endpoint's next free slot."""
    async with db.read() as conn:
        next_slot = await conn.scalar(
            sa.select(endpoint_throttle.c.next_slot).where(endpoint_throttle.c.endpoint_id == endpoint_id)
        )
    return max((next_slot or 0.0) - time.time(), 0.0)
