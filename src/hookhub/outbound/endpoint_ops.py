"""Endpoint operations that go through the delivery engine (Svix ``Endpoint`` API, second half).

``POST …/endpoint/{ep}/recover``        re-send failed messages since a time
``POST …/endpoint/{ep}/replay-missing`` send messages the endpoint never got
``POST …/endpoint/{ep}/bulk-replay``    re-send every message sent to it (with filters)
``GET  …/endpoint/{ep}/stats``          message counts by delivery status
``GET  …/endpoint/{ep}/attempt-stats``  attempt counts by outcome
``POST …/endpoint/{ep}/send-example``   send an event type's example payload

The replays run in the request's transaction (they only write queue rows) and answer with a
finished Svix background task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.api.deps import PrincipalDep, RuntimeDep
from hookhub.api.models import ApiModel, UtcTime
from hookhub.auth.tokens import Principal
from hookhub.delivery import manual
from hookhub.errors import NotFound
from hookhub.outbound.endpoints import find_endpoint
from hookhub.outbound.message_models import render_message
from hookhub.outbound.scope import find_app_id
from hookhub.outbound.wire import json_response, parse_body
from hookhub.store.fanout import endpoint_matches
from hookhub.store.tables import attempt, delivery, event_type, message
from hookhub.store.types import utcnow

router = APIRouter(prefix="/api/v1/app/{app_id}/endpoint/{endpoint_id}", tags=["Endpoint"])

_STATUS_NAMES = {0: "success", 1: "pending", 2: "failed", 3: "sending"}


class RecoverIn(ApiModel):
    since: UtcTime
    until: UtcTime | None = None


class BulkReplayIn(RecoverIn):
    event_types: list[str] | None = None
    channel: str | None = None
    tag: str | None = None
    status: Annotated[int, Field(ge=0, le=4)] | None = None
    status_code_class: Annotated[int, Field(ge=0, le=599)] | None = None


class EventExampleIn(ApiModel):
    event_type: Annotated[str, Field(min_length=1, max_length=256)]
    example_index: Annotated[int, Field(ge=0)] = 0


async def _endpoint(conn: AsyncConnection, principal: Principal, app_ref: str, ep_ref: str) -> Any:
    app_id = await find_app_id(conn, principal, app_ref)
    return await find_endpoint(conn, "app_id", app_id, ep_ref)


def _task(kind: str, sent: int) -> Response:
    return json_response(
        {
            "id": ids.new_id("qtask"),
            "status": "finished",
            "task": kind,
            "updatedAt": utcnow(),
            "data": {"messagesSent": sent},
        },
        202,
    )


def _window(column: sa.Column, since: datetime, until: datetime | None) -> sa.ColumnElement[bool]:
    clause = column >= since
    return clause if until is None else sa.and_(clause, column < until)


@router.post("/recover", status_code=202, summary="Re-send the failed messages since a time")
async def recover(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, app_id: str, endpoint_id: str
) -> Response:
    body = await parse_body(request, RecoverIn)
    async with runtime.db.write() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        sent = await manual.requeue_manual(
            conn,
            sa.and_(
                delivery.c.endpoint_id == ep.id,
                delivery.c.status == "failed",
                _window(delivery.c.created_at, body.since, body.until),
            ),
        )
    runtime.deliveries_enqueued()
    return _task("endpoint.recover", sent)


@router.post("/replay-missing", status_code=202, summary="Send the messages this endpoint never got")
async def replay_missing(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, app_id: str, endpoint_id: str
) -> Response:
    body = await parse_body(request, RecoverIn)
    async with runtime.db.write() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        already = sa.select(delivery.c.message_id).where(
            delivery.c.endpoint_id == ep.id, delivery.c.message_id.is_not(None)
        )
        query = sa.select(message.c.id, message.c.event_type, message.c.channels).where(
            message.c.app_id == ep.app_id,
            _window(message.c.created_at, body.since, body.until),
            message.c.id.not_in(already),
        )
        wanted = [
            row.id
            for row in await conn.execute(query)
            if endpoint_matches(ep.filter_types, ep.channels, row.event_type, row.channels)
        ]
        sent = await manual.insert_manual(conn, ep.id, wanted)
    runtime.deliveries_enqueued()
    return _task("endpoint.replay", sent)


@router.post("/bulk-replay", status_code=202, summary="Re-send every message sent to this endpoint")
async def bulk_replay(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, app_id: str, endpoint_id: str
) -> Response:
    body = await parse_body(request, BulkReplayIn)
    async with runtime.db.write() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        query = (
            sa.select(delivery.c.id, message.c.channels, message.c.tags)
            .select_from(delivery.join(message, message.c.id == delivery.c.message_id))
            .where(delivery.c.endpoint_id == ep.id, _window(message.c.created_at, body.since, body.until))
        )
        if body.event_types:
            query = query.where(message.c.event_type.in_(body.event_types))
        if body.status is not None:
            query = query.where(delivery.c.status == _STATUS_NAMES.get(body.status, "canceled"))
        if body.status_code_class is not None:
            low = body.status_code_class
            codes = sa.select(attempt.c.delivery_id).where(
                attempt.c.response_status_code >= low,
                attempt.c.response_status_code < (low + 100 if low else 1),
            )
            query = query.where(delivery.c.id.in_(codes))
        chosen = [
            row.id
            for row in await conn.execute(query)
            if (not body.channel or body.channel in (row.channels or ()))
            and (not body.tag or body.tag in (row.tags or ()))
        ]
        sent = await manual.requeue_manual(conn, delivery.c.id.in_(chosen)) if chosen else 0
    runtime.deliveries_enqueued()
    return _task("endpoint.bulk-replay", sent)


@router.get("/stats", summary="Message counts by delivery status")
async def stats(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    app_id: str,
    endpoint_id: str,
    since: UtcTime | None = None,
    until: UtcTime | None = None,
) -> Response:
    async with runtime.db.read() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        counts = await _count_by_status(conn, delivery, ep.id, since, until)
    return json_response(
        {
            "success": counts.get("success", 0),
            "pending": counts.get("pending", 0),
            "sending": counts.get("sending", 0),
            "fail": counts.get("failed", 0),
            "canceled": 0,
        }
    )


@router.get("/attempt-stats", summary="Attempt counts by outcome")
async def attempt_stats(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    app_id: str,
    endpoint_id: str,
    since: UtcTime | None = None,
    until: UtcTime | None = None,
) -> Response:
    async with runtime.db.read() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        counts = await _count_by_status(conn, attempt, ep.id, since, until)
    return json_response({"success": counts.get(0, 0), "fail": counts.get(2, 0), "canceled": 0})


async def _count_by_status(
    conn: AsyncConnection, table: sa.Table, endpoint_id: str, since: datetime | None, until: datetime | None
) -> dict[Any, int]:
    """Rows of ``table`` (deliveries or attempts) for one endpoint, counted by status."""
    query = sa.select(table.c.status, sa.func.count()).where(table.c.endpoint_id == endpoint_id)
    if since is not None:
        query = query.where(table.c.created_at >= since)
    if until is not None:
        query = query.where(table.c.created_at < until)
    return dict((await conn.execute(query.group_by(table.c.status))).all())


def _example(schemas: dict[str, Any] | None, index: int) -> dict[str, Any]:
    """The event type's example payload: ``examples[index]`` of its newest schema version."""
    if schemas:
        newest = max(schemas, key=lambda version: int(version) if str(version).isdigit() else 0)
        examples = (schemas.get(newest) or {}).get("examples") or []
        if examples:
            chosen = examples[index] if index < len(examples) else examples[0]
            if isinstance(chosen, dict):
                return chosen
    return {"example": True}


@router.post("/send-example", status_code=202, summary="Send an event type's example payload")
async def send_example(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, app_id: str, endpoint_id: str
) -> Response:
    body = await parse_body(request, EventExampleIn)
    now = utcnow()
    async with runtime.db.write() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        schemas = await conn.scalar(
            sa.select(event_type.c.schemas).where(event_type.c.name == body.event_type)
        )
        if schemas is None and not await conn.scalar(
            sa.select(sa.func.count()).where(event_type.c.name == body.event_type)
        ):
            raise NotFound(f"Event type {body.event_type!r} not found.")
        row = {
            "id": ids.new_id("msg"),
            "app_id": ep.app_id,
            "event_id": None,
            "event_type": body.event_type,
            "payload": orjson.dumps(_example(schemas, body.example_index)).decode(),
            "channels": None,
            "tags": None,
            "deliver_at": None,
            "payload_expires_at": None,
            "created_at": now,
        }
        await conn.execute(message.insert().values(row))
        await manual.insert_manual(conn, ep.id, [row["id"]], now)
    runtime.deliveries_enqueued()
    return json_response(render_message(_Row(row), with_content=True), 202)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
