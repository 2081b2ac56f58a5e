"""Stored responses of POSTs made with an Idempotency-Key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.tables import idempotency_key as table
from hookhub.store.types import utcnow
from hookhub.store.upsert import insert_ignore


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: list[list[str]]
    body: bytes


class IdempotencyStore:
    def __init__(self, db: Database, ttl_seconds: int) -> None:
        self._db = db
        self._ttl = timedelta(seconds=ttl_seconds)

    async def claim(self, scope_key: str) -> bool | StoredResponse:
        """True when this caller now owns the key; a StoredResponse when one is done; False while
        another request with the same key is still being processed."""
        now = utcnow()
        async with self._db.write() as conn:
            await conn.execute(
                table.delete().where(table.c.scope_key == scope_key, table.c.expires_at <= now)
            )
            inserted = await conn.execute(
                insert_ignore(table, self._db.dialect).values(
                    scope_key=scope_key, state="processing", created_at=now, expires_at=now + self._ttl
                )
            )
            if inserted.rowcount == 1:
                return True
            row = (
                await conn.execute(
                    sa.select(table.c.state, table.c.status_code, table.c.headers, table.c.body).where(
                        table.c.scope_key == scope_key
                    )
                )
            ).first()
        if row is None or row.state != "done":
            return False
        return StoredResponse(row.status_code, row.headers or [], row.body or b"")

    async def complete(self, scope_key: str, response: StoredResponse) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                table.update()
                .where(table.c.scope_key == scope_key)
                .values(
                    state="done",
                    status_code=response.status_code,
                    headers=response.headers,
                    body=response.body,
                )
            )

    async def release(self, scope_key: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                table.delete().where(table.c.scope_key == scope_key, table.c.state == "processing")
            )

    async def purge_expired(self) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(table.delete().where(table.c.expires_at <= utcnow()))
        return result.rowcount or 0
