"""Read-only peeks at the server's database, for what the API does not show (delivery rows)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.tables import delivery


def delivery_endpoints(database_url: str, message_id: str) -> list[str]:
    """Endpoint ids that got a delivery row for this message."""

    async def query() -> list[str]:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                rows = await conn.execute(
                    sa.select(delivery.c.endpoint_id).where(delivery.c.message_id == message_id)
                )
                return sorted(row.endpoint_id for row in rows)
        finally:
            await db.close()

    return asyncio.run(query())
