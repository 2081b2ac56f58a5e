"""The routing routes of an endpoint (application endpoints and source destinations alike):
``POST …/endpoint/{ep}/filter/test`` tries a filter on a stored message or event, or on a sample.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.api.deps import PrincipalDep, RuntimeDep
from hookhub.api.models import ApiModel
from hookhub.auth.tokens import Principal
from hookhub.errors import NotFound, validation_error
from hookhub.outbound.endpoint_models import check_filter
from hookhub.outbound.wire import json_response, parse_body
from hookhub.routing.documents import outbound_document, stored_event_document
from hookhub.routing.filters import compile_filter
from hookhub.store.tables import event, message

Owner = Callable[[AsyncConnection, Request, Principal], Awaitable[str]]
FindEndpoint = Callable[[AsyncConnection, str, str, str], Awaitable[Any]]


class FilterTestIn(ApiModel):
    """What to try: ``filter`` (or the endpoint's own) on a stored message or event (``eventId``:
    a ``msg_…`` id or a message's eventId for applications, an ``evt_…`` id for sources) or on a
    sample ``document`` shaped as filters see events (docs/routing.md)."""

    filter: dict[str, Any] | None = None
    event_id: str | None = None
    document: dict[str, Any] | None = None

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_filter(value)


async def _stored_document(
    conn: AsyncConnection, owner_column: str, owner_id: str, ref: str
) -> dict[str, Any]:
    if owner_column == "app_id":
        match = message.c.event_id == ref
        if ref.startswith("msg_"):
            match = sa.or_(message.c.id == ref, match)
        query = sa.select(message).where(message.c.app_id == owner_id, match).limit(1)
        row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"Message {ref!r} not found.")
        if row.payload is None:
            raise validation_error(["body", "eventId"], "the message's payload is no longer stored")
        return outbound_document(orjson.loads(row.payload), row.event_type, row.channels, row.tags)
    query = sa.select(event).where(event.c.source_id == owner_id, event.c.id == ref)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"Event {ref!r} not found.")
    return stored_event_document(row)


def add_routing_routes(
    router: APIRouter, item: str, owner: Owner, owner_column: str, find_endpoint: FindEndpoint
) -> None:
    @router.post(item + "/filter/test", summary="Try a content filter on a stored event or a sample")
    async def test_filter(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        body = await parse_body(request, FilterTestIn)
        if (body.event_id is None) == (body.document is None):
            raise validation_error(["body"], "give exactly one of eventId and document")
        async with runtime.db.read() as conn:
            owner_id = await owner(conn, request, principal)
            row = await find_endpoint(conn, owner_column, owner_id, endpoint_id)
            document = body.document
            if body.event_id is not None:
                document = await _stored_document(conn, owner_column, owner_id, body.event_id)
        chosen = body.filter if "filter" in body.model_fields_set else row.filter
        matched = compile_filter(chosen)(document) if chosen else True
        return json_response({"matched": matched, "filter": chosen or None, "document": document})
