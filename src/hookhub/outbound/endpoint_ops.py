"""Endpoint operations that go through the delivery engine (Svix ``Endpoint`` API, second half).

``POST …/endpoint/{ep}/recover``        re-send failed messages since a time (``endpoints.py``:
                                       app endpoints and source destinations alike)
``POST …/endpoint/{ep}/replay-missing`` send messages the endpoint never got
``POST …/endpoint/{ep}/bulk-replay``    re-send every message sent to it (with filters)

(the three start a background task, ``hookhub.tasks``)
``GET  …/endpoint/{ep}/stats``          message counts by delivery status
``GET  …/endpoint/{ep}/attempt-stats``  attempt counts by outcome
``POST …/endpoint/{ep}/send-example``   send an event type's example payload

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
from hookhub.api.openapi import json_body
from hookhub.api.schemas import BackgroundTaskOut, EndpointAttemptStats, EndpointStats, MessageOut
from hookhub.auth.tokens import Principal
from hookhub.delivery import manual
from hookhub.errors import NotFound
from hookhub.outbound.endpoint_models import RecoverIn
from hookhub.outbound.endpoints import find_endpoint
from hookhub.outbound.message_models import render_message
from hookhub.outbound.scope import find_app_id
from hookhub.outbound.wire import json_response, parse_body
from hookhub.store.tables import attempt, delivery, event_type, message
from hookhub.store.types import utcnow
from hookhub.tasks import store as tasks

router = APIRouter(prefix="/api/v1/app/{app_id}/endpoint/{endpoint_id}", tags=["Endpoint"])

_STATUS_NAMES = {0: "success", 1: "pending", 2: "failed", 3: "sending"}  # stats' keys


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


@router.post(
    "/replay-missing",
    response_model=BackgroundTaskOut,
    openapi_extra=json_body(RecoverIn),
    status_code=202,
    summary="Send the messages this endpoint never got",
)
async def replay_missing(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, app_id: str, endpoint_id: str
) -> Response:
    body = await parse_body(request, RecoverIn)
    async with runtime.db.write() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        task = await tasks.start(conn, "endpoint.replay", _window(ep.id, body), app_id=ep.app_id)
    runtime.tasks_started()
    return json_response(tasks.render(task), 202)


@router.post(
    "/bulk-replay",
    response_model=BackgroundTaskOut,
    openapi_extra=json_body(BulkReplayIn),
    status_code=202,
    summary="Re-send every message sent to this endpoint",
)
async def bulk_replay(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, app_id: str, endpoint_id: str
) -> Response:
    body = await parse_body(request, BulkReplayIn)
    async with runtime.db.write() as conn:
        ep = await _endpoint(conn, principal, app_id, endpoint_id)
        params = {
            **_window(ep.id, body),
            "eventTypes": body.event_types,
            "channel": body.channel,
            "tag": body.tag,
            "status": body.status,
            "statusCodeClass": body.status_code_class,
        }
        task = await tasks.start(conn, "endpoint.bulk-replay", params, app_id=ep.app_id)
    runtime.tasks_started()
    return json_response(tasks.render(task), 202)


def _window(endpoint_id: str, body: RecoverIn) -> dict[str, Any]:
    return {
        "endpointId": endpoint_id,
        "since": body.since.isoformat(),
        "until": body.until.isoformat() if body.until else None,
    }


@router.get("/stats", response_model=EndpointStats, summary="Message counts by delivery status")
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
            "filtered": counts.get("filtered", 0),  # hookhub: refused by the endpoint's filter
        }
    )


@router.get("/attempt-stats", response_model=EndpointAttemptStats, summary="Attempt counts by outcome")
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


@router.post(
    "/send-example",
    response_model=MessageOut,
    openapi_extra=json_body(EventExampleIn),
    status_code=202,
    summary="Send an event type's example payload",
)
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
