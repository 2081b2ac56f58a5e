"""Fan-out: one pending ``delivery`` row per matching endpoint, inside the caller's transaction.

An endpoint matches when it is enabled, its ``filter_types`` (if set) contain the event type and
its ``channels`` (if set) intersect the message's channels. One that matches but whose content
filter (``routing/filters.py``) refuses the event gets a ``filtered`` row instead: never sent, but
visible for that endpoint. The caller commits, then calls
``runtime.deliveries_enqueued()`` to wake the delivery workers. Group-committed batches (messages
in ``outbound/message_writer.py``, inbound events in ``inbound/event_batch.py``) load their
``Destination`` rows once and use ``matching_endpoint_ids`` and ``delivery_rows``; a replayed
event goes through ``enqueue_for_event``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.routing.filters import Matcher, matcher_of
from hookhub.store.tables import delivery, endpoint
from hookhub.store.types import utcnow

# Only the columns the rule needs; the worker reloads the endpoint when it sends.
_MATCH_COLUMNS = (endpoint.c.id, endpoint.c.filter_types, endpoint.c.channels, endpoint.c.filter)


class Destination(NamedTuple):
    """An enabled endpoint as the matching rule sees it (its filter compiled, or None)."""

    id: str
    filter_types: list[str] | None
    channels: list[str] | None
    filter: Matcher | None = None

    @classmethod
    def from_driver(
        cls, id: str, filter_types: Any, channels: Any, content_filter: Any = None
    ) -> Destination:
        """From a row read straight on the driver (JSON columns may come back as text)."""
        return cls(id, _json_list(filter_types), _json_list(channels), matcher_of(content_filter))


def _json_list(value: Any) -> list[str] | None:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def endpoint_matches(
    filter_types: Sequence[str] | None,
    endpoint_channels: Sequence[str] | None,
    event_type: str,
    channels: Iterable[str] | None,
) -> bool:
    if filter_types and event_type not in filter_types:
        return False
    return not endpoint_channels or bool(set(endpoint_channels).intersection(channels or ()))


def matching_endpoint_ids(rows: Iterable[Any], event_type: str, channels: Iterable[str] | None) -> list[str]:
    """Ids of the rows (id, filter_types, channels) that should receive this event."""
    wanted = list(channels or ())
    return [row.id for row in rows if endpoint_matches(row.filter_types, row.channels, event_type, wanted)]


def route(
    rows: Iterable[Destination],
    event_type: str,
    channels: Iterable[str] | None,
    document: Callable[[], dict[str, Any]],
) -> tuple[list[str], list[str]]:
    """The endpoints to deliver to, and those whose content filter refused the event.

    ``document`` builds what filters see; it is called once, and only if an endpoint has a filter.
    """
    wanted = list(channels or ())
    targets: list[str] = []
    filtered: list[str] = []
    seen: dict[str, Any] | None = None
    for row in rows:
        if not endpoint_matches(row.filter_types, row.channels, event_type, wanted):
            continue
        if row.filter is not None:
            if seen is None:
                seen = document()
            if not row.filter(seen):
                filtered.append(row.id)
                continue
        targets.append(row.id)
    return targets, filtered


DELIVERY_COLUMNS = (
    "id",
    "endpoint_id",
    "message_id",
    "event_id",
    "status",
    "attempt_count",
    "next_attempt_at",
    "trigger_type",
    "created_at",
    "updated_at",
)


def delivery_rows(
    endpoint_ids: Sequence[str],
    *,
    message_id: str | None = None,
    event_id: str | None = None,
    due_at: datetime | None = None,
    now: datetime,
    first_delay: float = 0.0,
    trigger_type: int = 0,
    status: str = "pending",
) -> list[dict[str, Any]]:
    """Pending rows, due at ``due_at`` (a message's deliverAt) or after the schedule's first delay;
    with ``status="filtered"``, rows that are never due."""
    due = due_at or (now + timedelta(seconds=first_delay) if first_delay else now)
    if status != "pending":
        due = None
    return [
        {
            "id": ids.new_id("dlv"),
            "endpoint_id": endpoint_id,
            "message_id": message_id,
            "event_id": event_id,
            "status": status,
            "attempt_count": 0,
            "next_attempt_at": due,
            "trigger_type": trigger_type,
            "created_at": now,
            "updated_at": now,
        }
        for endpoint_id in endpoint_ids
    ]


async def insert_deliveries(
    conn: AsyncConnection,
    endpoint_ids: Sequence[str],
    *,
    message_id: str | None = None,
    event_id: str | None = None,
    due_at: datetime | None = None,
    first_delay: float = 0.0,
    trigger_type: int = 0,
) -> int:
    rows = delivery_rows(
        endpoint_ids,
        message_id=message_id,
        event_id=event_id,
        due_at=due_at,
        now=utcnow(),
        first_delay=first_delay,
        trigger_type=trigger_type,
    )
    if rows:
        await conn.execute(delivery.insert(), rows)
    return len(rows)


async def enqueue_for_event(
    conn: AsyncConnection,
    *,
    source_id: str,
    event_id: str,
    event_type: str,
    document: Callable[[], dict[str, Any]],
    first_delay: float = 0.0,
    trigger_type: int = 0,
) -> int:
    """Pending deliveries of an inbound event to its source's matching destinations (and a
    ``filtered`` row for each destination whose filter refuses it); the number of pending ones.

    Inbound events carry no channels, so a destination restricted to channels receives none.
    A replay asks for ``trigger_type`` 1 (manual): its attempts are recorded as such.
    """
    query = sa.select(*_MATCH_COLUMNS).where(
        endpoint.c.source_id == source_id, endpoint.c.disabled.is_(False)
    )
    rows = [
        Destination(row.id, row.filter_types, row.channels, matcher_of(row.filter))
        for row in await conn.execute(query)
    ]
    targets, filtered = route(rows, event_type or "", None, document)
    if filtered:
        rows_out = delivery_rows(filtered, event_id=event_id, now=utcnow(), status="filtered")
        await conn.execute(delivery.insert(), rows_out)
    return await insert_deliveries(
        conn, targets, event_id=event_id, first_delay=first_delay, trigger_type=trigger_type
    )
