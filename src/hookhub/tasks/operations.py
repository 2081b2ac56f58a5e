"""What each kind of background task does, one page at a time.

``step(conn, params, cursor)`` works through at most ``PAGE`` rows after ``cursor`` (an id: rows are
walked in id order) inside the runner's transaction and returns what it did and the cursor to go on
from, or None when it is done. A page is committed together with the task's progress, so a task
resumed after a crash goes on from the last committed page: nothing is queued twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.delivery import manual
from hookhub.store.fanout import endpoint_matches
from hookhub.store.tables import attempt, delivery, endpoint, message

PAGE = 500
_STATUS_NAMES = {0: "success", 1: "pending", 2: "failed", 3: "sending"}

Step = Callable[[AsyncConnection, dict[str, Any], str | None], Awaitable[tuple[dict[str, int], str | None]]]


def _after(column: sa.Column, cursor: str | None) -> sa.ColumnElement[bool]:
    return sa.true() if cursor is None else column > cursor


def _window(column: sa.Column, params: dict[str, Any]) -> sa.ColumnElement[bool]:
    until = params.get("until")
    return manual.created_between(
        column, datetime.fromisoformat(params["since"]), datetime.fromisoformat(until) if until else None
    )


def _next(ids: list[str]) -> str | None:
    return ids[-1] if len(ids) == PAGE else None


async def recover(
    conn: AsyncConnection, params: dict[str, Any], cursor: str | None
) -> tuple[dict[str, int], str | None]:
    """Queue again the endpoint's deliveries that failed for good in the window."""
    page = list(
        await conn.scalars(
            sa.select(delivery.c.id)
            .where(
                delivery.c.endpoint_id == params["endpointId"],
                delivery.c.status == "failed",
                _window(delivery.c.created_at, params),
                _after(delivery.c.id, cursor),
            )
            .order_by(delivery.c.id)
            .limit(PAGE)
        )
    )
    sent = await manual.requeue_manual(conn, delivery.c.id.in_(page)) if page else 0
    return {"messagesSent": sent}, _next(page)


async def replay_missing(
    conn: AsyncConnection, params: dict[str, Any], cursor: str | None
) -> tuple[dict[str, int], str | None]:
    """Send the endpoint the messages of the window it never got (that it subscribes to)."""
    ep = (await conn.execute(sa.select(endpoint).where(endpoint.c.id == params["endpointId"]))).first()
    if ep is None:
        return {"messagesSent": 0}, None
    rows = (
        await conn.execute(
            sa.select(message.c.id, message.c.event_type, message.c.channels)
            .where(
                message.c.app_id == ep.app_id,
                _window(message.c.created_at, params),
                _after(message.c.id, cursor),
            )
            .order_by(message.c.id)
            .limit(PAGE)
        )
    ).all()
    got = set(
        await conn.scalars(
            sa.select(delivery.c.message_id).where(
                delivery.c.endpoint_id == ep.id, delivery.c.message_id.in_([row.id for row in rows])
            )
        )
    )
    wanted = [
        row.id
        for row in rows
        if row.id not in got and endpoint_matches(ep.filter_types, ep.channels, row.event_type, row.channels)
    ]
    sent = await manual.insert_manual(conn, ep.id, wanted)
    return {"messagesSent": sent}, _next([row.id for row in rows])


async def bulk_replay(
    conn: AsyncConnection, params: dict[str, Any], cursor: str | None
) -> tuple[dict[str, int], str | None]:
    """Send again every message of the window sent to the endpoint, narrowed by the filters."""
    query = (
        sa.select(delivery.c.id, message.c.channels, message.c.tags)
        .select_from(delivery.join(message, message.c.id == delivery.c.message_id))
        .where(
            delivery.c.endpoint_id == params["endpointId"],
            _window(message.c.created_at, params),
            _after(delivery.c.id, cursor),
        )
        .order_by(delivery.c.id)
        .limit(PAGE)
    )
    if params.get("eventTypes"):
        query = query.where(message.c.event_type.in_(params["eventTypes"]))
    if params.get("status") is not None:
        query = query.where(delivery.c.status == _STATUS_NAMES.get(params["status"], "canceled"))
    if params.get("statusCodeClass") is not None:
        low = params["statusCodeClass"]
        codes = sa.select(attempt.c.delivery_id).where(
            attempt.c.response_status_code >= low,
            attempt.c.response_status_code < (low + 100 if low else 1),
        )
        query = query.where(delivery.c.id.in_(codes))
    rows = (await conn.execute(query)).all()
    channel, tag = params.get("channel"), params.get("tag")
    chosen = [
        row.id
        for row in rows
        if (not channel or channel in (row.channels or ())) and (not tag or tag in (row.tags or ()))
    ]
    sent = await manual.requeue_manual(conn, delivery.c.id.in_(chosen)) if chosen else 0
    return {"messagesSent": sent}, _next([row.id for row in rows])


async def purge_content(
    conn: AsyncConnection, params: dict[str, Any], cursor: str | None
) -> tuple[dict[str, int], str | None]:
    """Delete the payload of every message of the application."""
    page = list(
        await conn.scalars(
            sa.select(message.c.id)
            .where(message.c.app_id == params["appId"], _after(message.c.id, cursor))
            .order_by(message.c.id)
            .limit(PAGE)
        )
    )
    if page:
        await conn.execute(message.update().where(message.c.id.in_(page)).values(payload=None))
    return {}, _next(page)


STEPS: dict[str, Step] = {
    "endpoint.recover": recover,
    "endpoint.replay": replay_missing,
    "endpoint.bulk-replay": bulk_replay,
    "application.purge_content": purge_content,
}
# Whether a step queued deliveries (the workers are woken after its page commits).
QUEUES_DELIVERIES = frozenset({"endpoint.recover", "endpoint.replay", "endpoint.bulk-replay"})
