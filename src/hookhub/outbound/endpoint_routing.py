"""The routing routes of an endpoint (application endpoints and source destinations alike):

``POST  …/endpoint/{ep}/filter/test``               try a filter on a stored message or event, or a sample
``GET   …/endpoint/{ep}/transformation``            Svix ``EndpointTransformationOut``
``PATCH …/endpoint/{ep}/transformation``            set the code and/or turn it on or off
``POST  …/endpoint/{ep}/transformation/simulate``   run code on a sample (Svix's shape)
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
from hookhub.api.openapi import json_body
from hookhub.api.schemas import FilterTestOut, TransformationOut, TransformationSimulateOut
from hookhub.auth.tokens import Principal
from hookhub.errors import NotFound, TransformationFailed, validation_error
from hookhub.outbound.endpoint_models import check_filter, is_sensitive_header
from hookhub.outbound.wire import json_response, no_content, parse_body
from hookhub.routing import transformations
from hookhub.routing.documents import outbound_document, stored_event_document
from hookhub.routing.filters import compile_filter
from hookhub.store.tables import endpoint, event, message
from hookhub.store.types import utcnow

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


class TransformationPatch(ApiModel):
    """Svix ``EndpointTransformationPatch`` (``variables`` is accepted and not used)."""

    code: str | None = None
    enabled: bool | None = None
    variables: dict[str, str] | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return None if value is None else transformations.check_code(value)


class SimulateIn(ApiModel):
    """Svix ``EndpointTransformationSimulateIn``."""

    code: str
    event_type: str
    payload: Any = None
    channels: list[str] | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return transformations.check_code(value)


class _Sample:
    """The parts of a delivery a simulated run sees."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.method, self.custom_headers = url, "POST", headers


def _transformer(runtime: Any) -> transformations.Transformer:
    settings = runtime.settings
    return transformations.shared(settings.transformation_threads, settings.transformation_timeout_ms)


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
    @router.post(
        item + "/filter/test",
        response_model=FilterTestOut,
        summary="Try a content filter on a stored event or a sample",
        openapi_extra=json_body(FilterTestIn),
    )
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

    @router.get(
        item + "/transformation",
        response_model=TransformationOut,
        summary="Get the endpoint's transformation",
    )
    async def get_transformation(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        async with runtime.db.read() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
        return json_response(
            {"code": row.transformation, "enabled": row.transformation_enabled, "updatedAt": row.updated_at}
        )

    @router.patch(
        item + "/transformation",
        status_code=204,
        summary="Set or switch the transformation",
        openapi_extra=json_body(TransformationPatch),
    )
    async def patch_transformation(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        body = await parse_body(request, TransformationPatch)
        if body.code is not None:
            try:
                await _transformer(runtime).check(body.code)
            except transformations.TransformationError as exc:
                raise validation_error(["body", "code"], str(exc)) from None
        async with runtime.db.write() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
            values: dict[str, Any] = {}
            if body.code is not None:
                values["transformation"] = body.code
            if body.enabled is not None:
                values["transformation_enabled"] = body.enabled
            if values.get("transformation_enabled") and not (body.code or row.transformation):
                raise validation_error(["body", "enabled"], "there is no code to enable")
            if values:
                values["updated_at"] = utcnow()
                await conn.execute(endpoint.update().where(endpoint.c.id == row.id).values(**values))
        return no_content()

    @router.post(
        item + "/transformation/simulate",
        response_model=TransformationSimulateOut,
        summary="Run a transformation on a sample",
        openapi_extra=json_body(SimulateIn),
    )
    async def simulate(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        body = await parse_body(request, SimulateIn)
        async with runtime.db.read() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
        sample = _Sample(row.url, dict(row.headers or {}))
        raw = orjson.dumps(body.payload)
        given = transformations.input_of(body.event_type, raw, "application/json", sample)
        try:
            out = await _transformer(runtime).run(f"simulate:{row.id}", body.code, given)
        except transformations.TransformationError as exc:
            raise TransformationFailed(str(exc)) from None
        sent, _ = transformations.body_of(out.payload, raw, "application/json")
        return json_response(
            {
                "method": out.method,
                "url": out.url,
                "payload": sent.decode("utf-8", "replace"),
                "headers": {k: v for k, v in out.headers.items() if not is_sensitive_header(k)},
                "cancel": out.cancel,
            }
        )
