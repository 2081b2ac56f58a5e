"""PostgreSQL fast path of the group commit: the batch's events in one prepared ``executemany``.

Runs on the asyncpg connection under the same SQLAlchemy transaction, so the caller still decides
about deliveries and commits; it skips SQLAlchemy's per-statement work (compiling parameters, JSON
processors), which costs more than the round trip itself for small batches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.inbound.sqlite_batch import COLUMNS

_JSON_COLUMNS = frozenset({"headers", "response"})
_INSERT = "INSERT INTO event ({}) VALUES ({})".format(
    ", ".join(COLUMNS),
    ", ".join(
        f"${n}::text::jsonb" if name in _JSON_COLUMNS else f"${n}" for n, name in enumerate(COLUMNS, 1)
    ),
)
_WITH_ENDPOINTS = "SELECT DISTINCT source_id FROM endpoint WHERE source_id = ANY($1::text[])"


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _params(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        orjson.dumps(row[name]).decode()
        if name in _JSON_COLUMNS
        else _naive(row[name])
        if name in ("received_at", "expires_at")
        else row[name]
        for name in COLUMNS
    )


async def sources_with_endpoints(conn: AsyncConnection, source_ids: set[str]) -> set[str]:
    raw = (await conn.get_raw_connection()).driver_connection
    return {record[0] for record in await raw.fetch(_WITH_ENDPOINTS, list(source_ids))}


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    raw = (await conn.get_raw_connection()).driver_connection
    await raw.executemany(_INSERT, [_params(row) for row in rows])
