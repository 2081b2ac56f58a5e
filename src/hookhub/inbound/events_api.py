"""Events of a source: list / search by event type, inspect, replay to destinations, test requests."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, unquote

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request, Response

from hookhub.api.deps import OrgPrincipalDep, RuntimeDep
from hookhub.api.openapi import json_body
from hookhub.api.pagination import Ordering, Page, paginate
from hookhub.api.schemas import (
    DeliveryOut,
    EventOut,
    EventReplayOut,
    ListResponse,
    MessageAttemptOut,
    TestRequestOut,
)
from hookhub.delivery.jobs import Trigger
from hookhub.errors import NotFound
from hookhub.inbound import store
from hookhub.inbound.api import PREFIX, page_args
from hookhub.inbound.ingest_app import IngestApp
from hookhub.inbound.models import TestRequestIn
from hookhub.inbound.service import inbound_for
from hookhub.outbound.attempts import deliveries_page, render_attempt
from hookhub.outbound.endpoints import find_endpoint
from hookhub.outbound.wire import json_response, parse_body
from hookhub.routing.documents import stored_event_document
from hookhub.store.fanout import enqueue_for_event
from hookhub.store.tables import attempt, delivery, event

router = APIRouter(tags=["Source events"])


def render_event(row: Any) -> dict[str, Any]:
    raw = bytes(row.body or b"")
    try:
        body, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(raw).decode(), "base64"
    return {
        "id": row.id,
        "sourceId": row.source_id,
        "method": row.method,
        "path": row.path,
        "query": row.query,
        "headers": row.headers,
        "body": body,
        "bodyEncoding": encoding,
        "eventType": row.event_type,
        "duplicates": row.duplicates,
        "routeKey": row.route_key,
        "sourceIp": row.source_ip,
        "replyId": row.reply_id,
        "response": row.response,
        "receivedAt": row.received_at.isoformat().replace("+00:00", "Z"),
        "expiresAt": row.expires_at.isoformat().replace("+00:00", "Z") if row.expires_at else None,
    }


@router.get(PREFIX + "/{source_ref}/event", response_model=ListResponse[EventOut])
async def list_events(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, request: Request
) -> Response:
    """Newest first; ``event_type`` (repeatable) filters by event type, ``method`` by method."""
    args = page_args(request)
    args.setdefault("order", Ordering.descending)
    page = Page(**args)
    async with runtime.db.read() as conn:
        found = await store.get(conn, source_ref)
        query = sa.select(event).where(event.c.source_id == found.id)
        event_types = request.query_params.getlist("event_type")
        if event_types:
            query = query.where(event.c.event_type.in_(event_types))
        if request.query_params.get("method"):
            query = query.where(event.c.method == request.query_params["method"].upper())
        result = await paginate(conn, query, event.c.id, page, render_event)
    return json_response(result)


async def _event(conn: Any, source_id: str, event_id: str) -> Any:
    row = (
        await conn.execute(sa.select(event).where(event.c.source_id == source_id, event.c.id == event_id))
    ).first()
    if row is None:
        raise NotFound("Event not found")
    return row


@router.get(PREFIX + "/{source_ref}/event/{event_id}", response_model=EventOut)
async def get_event(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, event_id: str
) -> Response:
    async with runtime.db.read() as conn:
        found = await store.get(conn, source_ref)
        row = await _event(conn, found.id, event_id)
    return json_response(render_event(row))


@router.get(PREFIX + "/{source_ref}/event/{event_id}/attempt", response_model=ListResponse[MessageAttemptOut])
async def list_event_attempts(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, event_id: str, request: Request
) -> Response:
    """The delivery attempts of one event to the source's destinations (newest first)."""
    page = Page(**page_args(request))
    async with runtime.db.read() as conn:
        found = await store.get(conn, source_ref)
        row = await _event(conn, found.id, event_id)
        result = await _attempts_page(conn, attempt.c.event_id == row.id, page)
    return json_response(result)


@router.get(PREFIX + "/{source_ref}/event/{event_id}/delivery", response_model=ListResponse[DeliveryOut])
async def list_event_deliveries(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, event_id: str, request: Request
) -> Response:
    """One row per destination the event was routed to, with its status (``filtered`` included)."""
    page = Page(**page_args(request))
    async with runtime.db.read() as conn:
        found = await store.get(conn, source_ref)
        row = await _event(conn, found.id, event_id)
        result = await deliveries_page(conn, delivery.c.event_id == row.id, page)
    return json_response(result)


@router.get(
    PREFIX + "/{source_ref}/endpoint/{endpoint_ref}/attempt", response_model=ListResponse[MessageAttemptOut]
)
async def list_destination_attempts(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, endpoint_ref: str, request: Request
) -> Response:
    """The delivery attempts to one of the source's destinations, of every event (newest first)."""
    page = Page(**page_args(request))
    async with runtime.db.read() as conn:
        found = await store.get(conn, source_ref)
        destination = await find_endpoint(conn, "source_id", found.id, endpoint_ref)
        result = await _attempts_page(conn, attempt.c.endpoint_id == destination.id, page)
    return json_response(result)


async def _attempts_page(conn: Any, condition: sa.ColumnElement[bool], page: Page) -> dict[str, Any]:
    """Delivery attempts matching ``condition``, newest first, as a page of the list API."""
    query = sa.select(attempt).where(condition)
    return await paginate(conn, query, attempt.c.id, page, render_attempt, default_order=Ordering.descending)


@router.post(PREFIX + "/{source_ref}/event/{event_id}/replay", response_model=EventReplayOut, status_code=202)
async def replay_event(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, event_id: str
) -> Response:
    """New delivery rows for every matching destination of the source, marked manual."""
    async with runtime.db.write() as conn:
        found = await store.get(conn, source_ref)
        row = await _event(conn, found.id, event_id)
        added = await enqueue_for_event(
            conn,
            source_id=found.id,
            event_id=row.id,
            event_type=row.event_type or "",
            document=lambda: stored_event_document(row),
            trigger_type=int(Trigger.MANUAL),
        )
    if added:
        runtime.deliveries_enqueued()
    return json_response({"eventId": row.id, "deliveriesEnqueued": added}, 202)


@router.post(
    PREFIX + "/{source_ref}/test", response_model=TestRequestOut, openapi_extra=json_body(TestRequestIn)
)
async def test_request(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, request: Request
) -> Response:
    """Runs ``{method, path, headers, body}`` through the real ingest pipeline; returns what it answered."""
    spec = await parse_body(request, TestRequestIn)
    async with runtime.db.read() as conn:
        found = await store.get(conn, source_ref)
    sub_path, _, query = spec.path.partition("?")
    headers = {name.lower(): value for name, value in spec.headers.items()}
    if spec.body is None:
        body = b""
    elif isinstance(spec.body, str):
        body = spec.body.encode()
    else:
        body = orjson.dumps(spec.body)
        headers.setdefault("content-type", "application/json")
    # As a server would see it: ``path`` decoded, ``raw_path`` as sent.
    sub_path = unquote(sub_path.lstrip("/"))
    path = f"/webhook/{found.ingest_key}" + ("/" + sub_path if sub_path else "")
    headers["content-length"] = str(len(body))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": spec.method,
        "scheme": "http",
        "path": path,
        "raw_path": quote(path, safe="/").encode(),
        "query_string": query.encode(),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": None,
        "server": None,
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await IngestApp(runtime, inbound_for(runtime))(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    try:
        text, encoding = answer.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(answer).decode(), "base64"
    return json_response(
        {
            "status": start["status"],
            "headers": response_headers,
            "body": text,
            "bodyEncoding": encoding,
            "eventId": response_headers.get("x-hookhub-event-id"),
        }
    )
