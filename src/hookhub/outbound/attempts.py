"""Message attempts (Svix ``MessageAttempt`` API): what was sent where, and resending it.

``GET  /api/v1/app/{app}/attempt/endpoint/{ep}``      attempts to one endpoint
``GET  /api/v1/app/{app}/attempt/msg/{msg}``          attempts of one message
``GET  /api/v1/app/{app}/msg/{msg}/attempt/{attempt}`` one attempt
``GET  /api/v1/app/{app}/msg/{msg}/endpoint``         endpoints a message was sent to, with status
``GET  /api/v1/app/{app}/endpoint/{ep}/msg``          messages sent to an endpoint, with status
``DELETE /api/v1/app/{app}/msg/{msg}/attempt/{attempt}/content``  forget what the receiver answered
``POST /api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend``
``GET  /api/v1/app/{app}/msg/{msg}/delivery``         hookhub: one row per endpoint the message was
                                                      routed to, ``filtered`` ones included

The Svix lists leave out endpoints whose content filter refused the message (Svix never lists
an endpoint a message did not go to).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.api.deps import PrincipalDep, RuntimeDep
from hookhub.api.models import UtcTime
from hookhub.api.pagination import Ordering, Page, paginate
from hookhub.api.schemas import (
    DeliveryOut,
    EmptyOut,
    EndpointMessageOut,
    ListResponse,
    MessageAttemptOut,
    MessageEndpointOut,
)
from hookhub.auth.tokens import Principal
from hookhub.delivery import manual
from hookhub.delivery.jobs import DELIVERY_STATUS, STATUS_TEXT
from hookhub.errors import MissingPayload, NotFound
from hookhub.outbound.endpoints import find_endpoint
from hookhub.outbound.message_models import render_message
from hookhub.outbound.scope import find_app_id
from hookhub.outbound.wire import json_response, no_content
from hookhub.store.tables import attempt, delivery, endpoint, message

router = APIRouter(prefix="/api/v1/app/{app_id}", tags=["Message Attempt"])

_STATUS_BY_NUMBER = {number: name for name, number in DELIVERY_STATUS.items()}


class AttemptFilters:
    """The filters every attempt list takes (Svix query names)."""

    def __init__(
        self,
        status: Annotated[int | None, Query(ge=0, le=4)] = None,
        status_code_class: Annotated[int | None, Query(ge=0, le=599)] = None,
        before: UtcTime | None = None,
        after: UtcTime | None = None,
        event_types: Annotated[list[str] | None, Query()] = None,
        channel: str | None = None,
        tag: str | None = None,
        with_content: bool = True,
        with_msg: bool = False,
    ) -> None:
        self.status = status
        self.status_code_class = status_code_class
        self.before = before
        self.after = after
        self.event_types = event_types
        self.channel = channel
        self.tag = tag
        self.with_content = with_content
        self.with_msg = with_msg

    def apply(self, query: sa.Select, dialect: str) -> sa.Select:
        if self.status is not None:
            query = query.where(attempt.c.status == self.status)
        if self.status_code_class is not None:
            low = self.status_code_class
            query = query.where(attempt.c.response_status_code >= low)
            if low:
                query = query.where(attempt.c.response_status_code < low + 100)
        if self.before is not None:
            query = query.where(attempt.c.created_at < self.before)
        if self.after is not None:
            query = query.where(attempt.c.created_at > self.after)
        return filter_messages(query, self.event_types, self.channel, self.tag, dialect)


def filter_messages(
    query: sa.Select, event_types: list[str] | None, channel: str | None, tag: str | None, dialect: str
) -> sa.Select:
    """Keep rows whose message has one of ``event_types`` and carries ``channel`` and ``tag``."""
    if event_types:
        query = query.where(message.c.event_type.in_(event_types))
    if channel:
        query = query.where(json_list_contains(message.c.channels, channel, dialect, "f_channel"))
    if tag:
        query = query.where(json_list_contains(message.c.tags, tag, dialect, "f_tag"))
    return query


def json_list_contains(column: sa.Column, value: str, dialect: str, name: str) -> sa.ColumnElement[bool]:
    """``value`` is one of the strings in the JSON list ``column`` of the message table (the
    messages and attempts lists filter by channel and tag with it)."""
    if dialect == "postgresql":
        return column.op("@>")(sa.func.jsonb_build_array(value))
    return sa.text(
        f"EXISTS (SELECT 1 FROM json_each(message.{column.name}) WHERE json_each.value = :{name})"
    ).bindparams(**{name: value})


def render_attempt(row: Any, *, with_content: bool = True, with_msg: bool = False) -> dict[str, Any]:
    out = {
        "id": row.id,
        "url": row.url,
        "response": row.response if with_content else "",
        "responseStatusCode": row.response_status_code,
        "responseDurationMs": row.response_duration_ms,
        "status": row.status,
        "statusText": STATUS_TEXT.get(row.status, "pending"),
        "triggerType": row.trigger_type,
        "msgId": row.message_id or row.event_id,
        "endpointId": row.endpoint_id,
        "timestamp": row.created_at,
    }
    if with_msg and row.message_id and getattr(row, "event_type", None) is not None:
        out["msg"] = render_message(_MessageView(row), with_content=False)
    return out


class _MessageView:
    """A message row's fields from an attempt ⋈ message row (whose own ``id`` is the attempt's)."""

    def __init__(self, row: Any) -> None:
        self.id = row.message_id
        self.event_type = row.event_type
        self.event_id = row.msg_event_id
        self.payload = None
        self.channels = row.channels
        self.tags = row.tags
        self.created_at = row.msg_created_at
        self.deliver_at = row.deliver_at


def _attempts_query() -> sa.Select:
    return sa.select(
        attempt,
        message.c.event_type,
        message.c.event_id.label("msg_event_id"),
        message.c.channels,
        message.c.tags,
        message.c.created_at.label("msg_created_at"),
        message.c.deliver_at,
    ).select_from(attempt.outerjoin(message, message.c.id == attempt.c.message_id))


async def find_message_id(conn: AsyncConnection, app_id: str, msg_ref: str) -> str:
    """A message of this application by id or eventId."""
    match = message.c.event_id == msg_ref
    if msg_ref.startswith("msg_"):
        match = sa.or_(message.c.id == msg_ref, match)
    found = await conn.scalar(sa.select(message.c.id).where(message.c.app_id == app_id, match).limit(1))
    if found is None:
        raise NotFound(f"Message {msg_ref!r} not found.")
    return found


async def _scope(
    conn: AsyncConnection,
    principal: Principal,
    app_ref: str,
    *,
    msg: str | None = None,
    ep: str | None = None,
) -> tuple[str, str | None, Any]:
    app_id = await find_app_id(conn, principal, app_ref)
    msg_id = await find_message_id(conn, app_id, msg) if msg else None
    ep_row = await find_endpoint(conn, "app_id", app_id, ep) if ep else None
    return app_id, msg_id, ep_row


@router.get(
    "/attempt/endpoint/{endpoint_id}",
    response_model=ListResponse[MessageAttemptOut],
    summary="List attempts to an endpoint (newest first)",
)
async def list_by_endpoint(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    app_id: str,
    endpoint_id: str,
    page: Annotated[Page, Depends()],
    filters: Annotated[AttemptFilters, Depends()],
) -> Response:
    async with runtime.db.read() as conn:
        _, _, ep = await _scope(conn, principal, app_id, ep=endpoint_id)
        query = filters.apply(_attempts_query().where(attempt.c.endpoint_id == ep.id), runtime.db.dialect)
        out = await paginate(
            conn,
            query,
            attempt.c.id,
            page,
            lambda row: render_attempt(row, with_content=filters.with_content, with_msg=filters.with_msg),
            default_order=Ordering.descending,
        )
    return json_response(out)


@router.get(
    "/attempt/msg/{msg_id}",
    response_model=ListResponse[MessageAttemptOut],
    summary="List attempts of a message (newest first)",
)
async def list_by_msg(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    app_id: str,
    msg_id: str,
    page: Annotated[Page, Depends()],
    filters: Annotated[AttemptFilters, Depends()],
    endpoint_id: str | None = None,
) -> Response:
    async with runtime.db.read() as conn:
        _, found_msg, ep = await _scope(conn, principal, app_id, msg=msg_id, ep=endpoint_id)
        query = filters.apply(_attempts_query().where(attempt.c.message_id == found_msg), runtime.db.dialect)
        if ep is not None:
            query = query.where(attempt.c.endpoint_id == ep.id)
        out = await paginate(
            conn,
            query,
            attempt.c.id,
            page,
            lambda row: render_attempt(row, with_content=filters.with_content),
            default_order=Ordering.descending,
        )
    return json_response(out)


@router.get("/msg/{msg_id}/attempt/{attempt_id}", response_model=MessageAttemptOut, summary="Get one attempt")
async def get_attempt(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str, attempt_id: str
) -> Response:
    async with runtime.db.read() as conn:
        _, found_msg, _ = await _scope(conn, principal, app_id, msg=msg_id)
        row = (
            await conn.execute(
                _attempts_query().where(attempt.c.id == attempt_id, attempt.c.message_id == found_msg)
            )
        ).first()
    if row is None:
        raise NotFound(f"Attempt {attempt_id!r} not found.")
    return json_response(render_attempt(row))


EXPUNGED = "EXPUNGED"  # what an expunged attempt's response reads as (Svix's word)


@router.delete(
    "/msg/{msg_id}/attempt/{attempt_id}/content", status_code=204, summary="Delete an attempt's response body"
)
async def expunge_attempt_content(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str, attempt_id: str
) -> Response:
    """For a receiver that answered with something sensitive: the body it sent is replaced."""
    async with runtime.db.write() as conn:
        _, found_msg, _ = await _scope(conn, principal, app_id, msg=msg_id)
        result = await conn.execute(
            attempt.update()
            .where(attempt.c.id == attempt_id, attempt.c.message_id == found_msg)
            .values(response=EXPUNGED)
        )
        if not result.rowcount:
            raise NotFound(f"Attempt {attempt_id!r} not found.")
    return no_content()


@router.get(
    "/msg/{msg_id}/endpoint",
    response_model=ListResponse[MessageEndpointOut],
    summary="List the endpoints a message was sent to",
)
async def list_attempted_destinations(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str, page: Annotated[Page, Depends()]
) -> Response:
    async with runtime.db.read() as conn:
        _, found_msg, _ = await _scope(conn, principal, app_id, msg=msg_id)
        query = (
            sa.select(endpoint, delivery.c.status.label("delivery_status"), delivery.c.next_attempt_at)
            .select_from(delivery.join(endpoint, endpoint.c.id == delivery.c.endpoint_id))
            .where(delivery.c.message_id == found_msg, delivery.c.status != "filtered")
        )
        out = await paginate(conn, query, endpoint.c.id, page, _render_destination)
    return json_response(out)


def _status_fields(row: Any) -> dict[str, Any]:
    status = DELIVERY_STATUS.get(row.delivery_status, 1)
    return {
        "status": status,
        "statusText": STATUS_TEXT[status],
        "nextAttempt": row.next_attempt_at if row.delivery_status == "pending" else None,
    }


def _render_destination(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "uid": row.uid,
        "version": row.version,
        "disabled": row.disabled,
        "throttleRate": row.throttle_rate,
        "eventTypes": row.filter_types,
        "filterTypes": row.filter_types,
        "channels": row.channels,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        **_status_fields(row),
    }


@router.get(
    "/endpoint/{endpoint_id}/msg",
    response_model=ListResponse[EndpointMessageOut],
    summary="List the messages sent to an endpoint",
)
async def list_attempted_messages(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    app_id: str,
    endpoint_id: str,
    page: Annotated[Page, Depends()],
    status: Annotated[int | None, Query(ge=0, le=4)] = None,
    before: UtcTime | None = None,
    after: UtcTime | None = None,
    event_types: Annotated[list[str] | None, Query()] = None,
    channel: str | None = None,
    tag: str | None = None,
    with_content: bool = True,
) -> Response:
    async with runtime.db.read() as conn:
        _, _, ep = await _scope(conn, principal, app_id, ep=endpoint_id)
        query = (
            sa.select(message, delivery.c.status.label("delivery_status"), delivery.c.next_attempt_at)
            .select_from(delivery.join(message, message.c.id == delivery.c.message_id))
            .where(delivery.c.endpoint_id == ep.id, delivery.c.status != "filtered")
        )
        if status is not None:
            query = query.where(delivery.c.status == _STATUS_BY_NUMBER.get(status, "canceled"))
        if before is not None:
            query = query.where(message.c.created_at < before)
        if after is not None:
            query = query.where(message.c.created_at > after)
        query = filter_messages(query, event_types, channel, tag, runtime.db.dialect)
        out = await paginate(
            conn,
            query,
            message.c.id,
            page,
            lambda row: {**render_message(row, with_content=with_content), **_status_fields(row)},
            default_order=Ordering.descending,
        )
    return json_response(out)


@router.post(
    "/msg/{msg_id}/endpoint/{endpoint_id}/resend",
    response_model=EmptyOut,
    status_code=202,
    summary="Send a message to an endpoint again",
)
async def resend(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str, endpoint_id: str
) -> Response:
    async with runtime.db.write() as conn:
        _, found_msg, ep = await _scope(conn, principal, app_id, msg=msg_id, ep=endpoint_id)
        assert found_msg is not None
        if await conn.scalar(sa.select(message.c.payload.is_(None)).where(message.c.id == found_msg)):
            raise MissingPayload()
        await manual.resend(conn, found_msg, ep.id)
    runtime.deliveries_enqueued()
    return json_response({}, 202)


def render_delivery(row: Any) -> dict[str, Any]:
    """A delivery row as hookhub's delivery lists show it (status by name, ``filtered`` included)."""
    return {
        "id": row.id,
        "endpointId": row.endpoint_id,
        "status": row.status,
        "attemptCount": row.attempt_count,
        "nextAttempt": row.next_attempt_at if row.status == "pending" else None,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


async def deliveries_page(
    conn: AsyncConnection, condition: sa.ColumnElement[bool], page: Page
) -> dict[str, Any]:
    query = sa.select(delivery).where(condition)
    return await paginate(conn, query, delivery.c.id, page, render_delivery)


@router.get(
    "/msg/{msg_id}/delivery",
    response_model=ListResponse[DeliveryOut],
    summary="List a message's deliveries, filtered ones included",
)
async def list_message_deliveries(
    runtime: RuntimeDep, principal: PrincipalDep, app_id: str, msg_id: str, page: Annotated[Page, Depends()]
) -> Response:
    async with runtime.db.read() as conn:
        _, found_msg, _ = await _scope(conn, principal, app_id, msg=msg_id)
        out = await deliveries_page(conn, delivery.c.message_id == found_msg, page)
    return json_response(out)
