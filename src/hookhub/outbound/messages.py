"""Messages: ``/api/v1/app/{app}/msg`` — create (with fan-out), list, get, expunge content.

Creating a message is the hot path: see ``message_writer`` (group commit, the message and its
pending deliveries in one transaction) and ``message_fast_path`` (served without FastAPI).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.api.deps import PrincipalDep, ReadingPrincipalDep, RuntimeDep
from hookhub.api.models import UtcTime
from hookhub.api.openapi import json_body
from hookhub.api.pagination import Ordering, Page, paginate
from hookhub.api.schemas import BackgroundTaskOut, ListResponse, MessageOut, MessagePrecheckOut
from hookhub.auth.tokens import Principal
from hookhub.errors import NotFound
from hookhub.outbound.attempts import json_list_contains
from hookhub.outbound.message_models import MessageIn, MessagePrecheckIn, render_message
from hookhub.outbound.message_writer import create_message, writer_for
from hookhub.outbound.scope import app_ref_clause, find_app_id
from hookhub.outbound.wire import json_response, no_content, parse_body
from hookhub.store.fanout import matching_endpoint_ids
from hookhub.store.tables import application, endpoint, message
from hookhub.tasks import store as tasks

router = APIRouter(prefix="/api/v1/app/{app_id}/msg", tags=["Message"])


async def _app_and_endpoints(conn: AsyncConnection, app_ref: str) -> tuple[str | None, list[Any]]:
    """The application's id and its enabled endpoints' (id, filter_types, channels), in one query."""
    query = (
        sa.select(
            application.c.id.label("app_id"), endpoint.c.id, endpoint.c.filter_types, endpoint.c.channels
        )
        .select_from(application)
        .outerjoin(endpoint, sa.and_(endpoint.c.app_id == application.c.id, endpoint.c.disabled.is_(False)))
        .where(app_ref_clause(app_ref))
    )
    rows = (await conn.execute(query)).all()
    if not rows:
        return None, []
    return rows[0].app_id, [row for row in rows if row.id is not None]


@router.post(
    "",
    response_model=MessageOut,
    status_code=202,
    summary="Create a message and send it to the matching endpoints",
)
async def create(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, body: MessageIn, with_content: bool = True
) -> Response:
    """Requests without an Idempotency-Key are answered by ``message_fast_path`` instead."""
    answer = await create_message(writer_for(runtime), principal, app_id, body, with_content=with_content)
    return Response(answer, status_code=202, media_type="application/json")


@router.get("", response_model=ListResponse[MessageOut], summary="List messages (newest first)")
async def list_messages(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    app_id: str,
    page: Annotated[Page, Depends()],
    event_types: Annotated[list[str] | None, Query()] = None,
    channel: str | None = None,
    tag: str | None = None,
    before: UtcTime | None = None,
    after: UtcTime | None = None,
    with_content: bool = True,
) -> Response:
    dialect = runtime.db.dialect
    async with runtime.db.read() as conn:
        query = sa.select(message).where(message.c.app_id == await find_app_id(conn, principal, app_id))
        types = [t for value in event_types or () for t in value.split(",") if t]
        if types:
            query = query.where(message.c.event_type.in_(types))
        if channel:
            query = query.where(json_list_contains(message.c.channels, channel, dialect, "channel"))
        if tag:
            query = query.where(json_list_contains(message.c.tags, tag, dialect, "tag"))
        if before:
            query = query.where(message.c.created_at < before)
        if after:
            query = query.where(message.c.created_at > after)
        result = await paginate(
            conn,
            query,
            message.c.id,
            page,
            lambda row: render_message(row, with_content=with_content),
            default_order=Ordering.descending,
        )
    return json_response(result)


@router.post(
    "/precheck/active",
    response_model=MessagePrecheckOut,
    openapi_extra=json_body(MessagePrecheckIn),
    summary="Would a message like this reach any endpoint?",
)
async def precheck(
    request: Request, runtime: RuntimeDep, principal: ReadingPrincipalDep, app_id: str
) -> Response:
    body = await parse_body(request, MessagePrecheckIn)
    async with runtime.db.read() as conn:
        found_id, endpoints = await _app_and_endpoints(conn, app_id)
        if found_id is None:
            raise NotFound(f"Application {app_id!r} not found.")
        principal.require_app(found_id)
    return json_response({"active": bool(matching_endpoint_ids(endpoints, body.event_type, body.channels))})


@router.post(
    "/expunge-all-contents",
    response_model=BackgroundTaskOut,
    status_code=202,
    summary="Delete the payload of every message of the application",
)
async def expunge_all(runtime: RuntimeDep, principal: PrincipalDep, app_id: str) -> Response:
    async with runtime.db.write() as conn:
        found_id = await find_app_id(conn, principal, app_id)
        task = await tasks.start(conn, "application.purge_content", {"appId": found_id}, app_id=found_id)
    runtime.tasks_started()
    return json_response(tasks.render(task), 202)


async def _find_message(conn: AsyncConnection, principal: Principal, app_ref: str, msg_ref: str) -> Any:
    found_id = await find_app_id(conn, principal, app_ref)
    match = message.c.event_id == msg_ref
    if msg_ref.startswith("msg_"):
        match = sa.or_(message.c.id == msg_ref, match)
    row = (await conn.execute(sa.select(message).where(message.c.app_id == found_id, match).limit(1))).first()
    if row is None:
        raise NotFound(f"Message {msg_ref!r} not found.")
    return row


@router.get("/{msg_id}", response_model=MessageOut, summary="Get a message by its id or eventId")
async def get(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str, with_content: bool = True
) -> Response:
    async with runtime.db.read() as conn:
        row = await _find_message(conn, principal, app_id, msg_id)
    return json_response(render_message(row, with_content=with_content))


@router.delete("/{msg_id}/content", status_code=204, summary="Delete a message's payload")
async def expunge_content(runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str) -> Response:
    async with runtime.db.write() as conn:
        row = await _find_message(conn, principal, app_id, msg_id)
        await conn.execute(message.update().where(message.c.id == row.id).values(payload=None))
    return no_content()
