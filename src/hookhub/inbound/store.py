"""Source queries: find by id, uid or ingest key; create, update, rotate keys and tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.delivery.signing import generate_secret, previous_after_rotation
from hookhub.errors import NotFound
from hookhub.store.tables import source
from hookhub.store.types import utcnow


def new_ingest_key() -> str:
    return secrets.token_urlsafe(24)


def new_auth_token() -> str:
    return "whk_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _by_id_or_uid(id_or_uid: str) -> sa.ColumnElement[bool]:
    if ids.has_prefix(id_or_uid, "src"):
        return source.c.id == id_or_uid
    return sa.or_(source.c.uid == id_or_uid, source.c.id == id_or_uid)


async def find(conn: AsyncConnection, id_or_uid: str) -> Any | None:
    return (await conn.execute(sa.select(source).where(_by_id_or_uid(id_or_uid)))).first()


async def get(conn: AsyncConnection, id_or_uid: str, *, for_update: bool = False) -> Any:
    query = sa.select(source).where(_by_id_or_uid(id_or_uid))
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("Source not found")
    return row


async def find_by_key(conn: AsyncConnection, key: str) -> Any | None:
    """The source whose current key is ``key``, or whose previous key is and still in its grace period."""
    row = (await conn.execute(sa.select(source).where(source.c.ingest_key == key))).first()
    if row is not None:
        return row
    row = (await conn.execute(sa.select(source).where(source.c.previous_ingest_key == key))).first()
    if (
        row is not None
        and row.previous_ingest_key_expires_at
        and row.previous_ingest_key_expires_at > utcnow()
    ):
        return row
    return None


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    now = utcnow()
    source_id = ids.new_id("src")
    await conn.execute(
        source.insert().values(
            id=source_id,
            ingest_key=new_ingest_key(),
            relay_secret=generate_secret(),
            previous_relay_secrets=[],
            created_at=now,
            updated_at=now,
            **values,
        )
    )
    return await get(conn, source_id)


async def update(conn: AsyncConnection, source_id: str, values: dict[str, Any]) -> Any:
    await conn.execute(source.update().where(source.c.id == source_id).values(updated_at=utcnow(), **values))
    return await get(conn, source_id)


async def rotate_relay_secret(
    conn: AsyncConnection, row: Any, new_key: str | None, grace_seconds: int
) -> str:
    """A new relay secret (``new_key`` or a fresh one); the old one keeps signing for ``grace_seconds``."""
    key = new_key or generate_secret()
    previous = previous_after_rotation(
        row.relay_secret, row.previous_relay_secrets or [], grace_seconds, utcnow()
    )
    await update(conn, row.id, {"relay_secret": key, "previous_relay_secrets": previous})
    return key


async def rotate_key(conn: AsyncConnection, row: Any, grace_seconds: float) -> Any:
    expires: datetime | None = utcnow() + timedelta(seconds=grace_seconds) if grace_seconds > 0 else None
    return await update(
        conn,
        row.id,
        {
            "ingest_key": new_ingest_key(),
            "previous_ingest_key": row.ingest_key if expires else None,
            "previous_ingest_key_expires_at": expires,
        },
    )
