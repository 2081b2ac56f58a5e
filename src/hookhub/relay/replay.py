"""Resume: the stored events a reconnecting listener missed, in id order, within retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import sqlalchemy as sa

from hookhub.ids import first_id_at, has_prefix
from hookhub.relay.events import listener_event_from_row
from hookhub.relay.listeners import Frame
from hookhub.relay.signature import relay_keys, sign_event
from hookhub.store import tables
from hookhub.store.db import Database

PAGE = 500


def valid_since(value: str | None) -> str | None:
    """An event id to resume after, or None when absent; ValueError when not an event id."""
    if not value:
        return None
    value = value.strip()
    if not has_prefix(value, "evt"):
        raise ValueError("since / Last-Event-ID must be an event id (evt_…)")
    return value


async def frames_since(db: Database, source_id: str, seconds: float) -> AsyncIterator[Frame]:
    """Every event of the source stored at ``seconds`` (Unix time) or later."""
    async for frame in missed_frames(db, source_id, first_id_at("evt", seconds), inclusive=True):
        yield frame


async def missed_frames(
    db: Database, source_id: str, since: str, *, inclusive: bool = False
) -> AsyncIterator[Frame]:
    """Every event of the source stored after ``since`` (or from it, ``inclusive``), page by
    page (one short read each)."""
    event = tables.event
    after = since
    first_page = inclusive
    keys = await _relay_keys(db, source_id)
    while True:
        now = datetime.now(UTC)
        query = (
            sa.select(event)
            .where(
                event.c.source_id == source_id,
                event.c.id >= after if first_page else event.c.id > after,
                sa.or_(event.c.expires_at.is_(None), event.c.expires_at > now),
            )
            .order_by(event.c.id)
            .limit(PAGE)
        )
        async with db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        for row in rows:
            received_at = row["received_at"].timestamp() if row["received_at"] is not None else None
            listener_json = listener_event_from_row(row)
            sign_event(listener_json, bytes(row["body"] or b""), keys)
            yield Frame(source_id, row["route_key"], listener_json, received_at)
        if len(rows) < PAGE:
            return
        after, first_page = rows[-1]["id"], False


async def _relay_keys(db: Database, source_id: str) -> tuple[bytes, ...]:
    source = tables.source
    query = sa.select(source.c.relay_secret, source.c.previous_relay_secrets).where(source.c.id == source_id)
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    return () if row is None else relay_keys(row.relay_secret, row.previous_relay_secrets, datetime.now(UTC))
