"""One group-committed batch of inbound events: the events, then their deliveries.

Synchronous, inside the caller's transaction (``Database.run_write``: on the event loop's thread
on SQLite, ``run_sync`` on PostgreSQL), straight on the driver (``store/raw_insert.py``): for a
batch of small events SQLAlchemy's per-row work would cost more than the database's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from hookhub.routing.documents import inbound_document
from hookhub.store.fanout import DELIVERY_COLUMNS, Destination, delivery_rows, route
from hookhub.store.raw_insert import RawInsert, fetch_rows
from hookhub.store.tables import delivery, event, event_dedupe
from hookhub.store.types import utcnow

COLUMNS = (
    "id",
    "source_id",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "event_type",
    "route_key",
    "source_ip",
    "reply_id",
    "response",
    "received_at",
    "expires_at",
)
_INSERT_EVENTS = RawInsert(event, COLUMNS)
_INSERT_DELIVERIES = RawInsert(delivery, DELIVERY_COLUMNS)
_PG_DESTINATIONS = (
    "SELECT source_id, id, filter_types, channels, filter FROM endpoint "
    "WHERE source_id = ANY($1::text[]) AND disabled = false"
)


@lru_cache(maxsize=64)
def _sqlite_destinations(count: int) -> str:
    marks = ", ".join("?" * count)
    return (
        "SELECT source_id, id, filter_types, channels, filter FROM endpoint "
        f"WHERE source_id IN ({marks}) AND disabled = 0"
    )


def write_events(conn: sa.Connection, rows: list[dict[str, Any]], first_delay: float = 0.0) -> int:
    """Insert the events (dicts keyed by ``COLUMNS`` but for the times, plus their source's
    ``retention``) and a pending delivery per matching destination of their sources; the number
    of deliveries.

    The events of a batch share their received time, the batch's (set here, just before the
    commit that accepts them): one timestamp object per batch and one expiry per retention, each
    converted for the driver once.
    """
    now = utcnow()
    expiries: dict[timedelta, datetime] = {}
    for row in rows:
        retention = row["retention"]
        expires_at = expiries.get(retention)
        if expires_at is None:
            expires_at = expiries[retention] = now + retention
        row["received_at"] = now
        row["expires_at"] = expires_at
    repeated: dict[str, int] = {}
    if any(row.get("dedupe_key") for row in rows):
        rows, repeated = _without_duplicates(conn, rows, now)
    if rows:
        _INSERT_EVENTS.run(conn, rows)
    for event_id, count in repeated.items():  # after the insert: the first may be in this batch
        conn.execute(
            event.update().where(event.c.id == event_id).values(duplicates=event.c.duplicates + count)
        )
    if not rows:
        return 0
    destinations = _destinations(conn, {row["source_id"] for row in rows})
    if not destinations:
        return 0
    deliveries: list[dict[str, Any]] = []
    for row in rows:
        # Inbound events carry no channels: a destination restricted to channels gets none.
        candidates = destinations.get(row["source_id"], ())
        targets, filtered = route(candidates, row["event_type"] or "", None, lambda row=row: _document(row))
        deliveries += delivery_rows(targets, event_id=row["id"], now=now, first_delay=first_delay)
        if filtered:
            deliveries += delivery_rows(filtered, event_id=row["id"], now=now, status="filtered")
    if deliveries:
        _INSERT_DELIVERIES.run(conn, deliveries)
    return len(deliveries)


def _destinations(conn: sa.Connection, source_ids: Iterable[str]) -> dict[str, list[Destination]]:
    wanted = list(source_ids)
    if conn.dialect.name == "sqlite":
        rows = fetch_rows(conn, _sqlite_destinations(len(wanted)), wanted)
    else:
        rows = fetch_rows(conn, _PG_DESTINATIONS, [wanted])
    found: dict[str, list[Destination]] = {}
    for source_id, endpoint_id, filter_types, channels, content_filter in rows:
        found.setdefault(source_id, []).append(
            Destination.from_driver(endpoint_id, filter_types, channels, content_filter)
        )
    return found


def _document(row: dict[str, Any]) -> dict[str, Any]:
    """What destination filters see: the body as the pipeline parsed it (``payload``)."""
    return inbound_document(row.get("payload"), row["headers"], row["query"], row["path"], row["method"])


def _without_duplicates(
    conn: sa.Connection, rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The rows to store: those whose de-duplication key (``dedupe_key``, from their source's
    ``dedupe`` settings) was not stored within its window, and how many duplicates each first
    event got. Each other row gets ``duplicate_of``, the id of the event first stored under its key.

    The keys are written here, in the events' transaction: a concurrent transaction storing the
    same key makes this one fail on the unique index, and the batch's row-by-row retry then finds
    the key taken.
    """
    wanted = {(row["source_id"], row["dedupe_key"]) for row in rows if row.get("dedupe_key")}
    stored = {
        (found.source_id, found.key): (found.event_id, found.expires_at)
        for found in conn.execute(
            sa.select(event_dedupe).where(
                event_dedupe.c.source_id.in_({source_id for source_id, _ in wanted}),
                event_dedupe.c.key.in_({key for _, key in wanted}),
            )
        )
    }
    expired = [pair for pair, (_, expires_at) in stored.items() if expires_at <= now]
    for source_id, key in expired:
        conn.execute(
            event_dedupe.delete().where(event_dedupe.c.source_id == source_id, event_dedupe.c.key == key)
        )
    live = {pair: event_id for pair, (event_id, expires_at) in stored.items() if expires_at > now}
    kept: list[dict[str, Any]] = []
    new_keys: list[dict[str, Any]] = []
    repeated: dict[str, int] = {}
    for row in rows:
        row.pop("duplicate_of", None)  # a batch written again row by row starts afresh
        pair = (row["source_id"], row.get("dedupe_key"))
        if pair[1] is None:
            kept.append(row)
        elif (first := live.get(pair)) is not None:
            row["duplicate_of"] = first
            repeated[first] = repeated.get(first, 0) + 1
        else:
            live[pair] = row["id"]
            expires_at = now + timedelta(seconds=row["dedupe_window"])
            new_keys.append(
                {"source_id": pair[0], "key": pair[1], "event_id": row["id"], "expires_at": expires_at}
            )
            kept.append(row)
    if new_keys:
        conn.execute(event_dedupe.insert(), new_keys)
    return kept, repeated
