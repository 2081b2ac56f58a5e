"""The sources API: ``/ingest/api/v1/source`` in Svix Ingest's shape, plus ingest and auth tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.api.deps import OrgPrincipalDep, RuntimeDep
from hookhub.api.openapi import json_body
from hookhub.api.pagination import Page, paginate
from hookhub.api.schemas import AuthTokenOut, IngestUrlOut, ListResponse, RelaySecretOut, SourceOut
from hookhub.auth.tokens import Principal
from hookhub.errors import Conflict, validation_error
from hookhub.inbound import store, verifiers
from hookhub.inbound.compiled import dedupe_paths
from hookhub.inbound.models import SourceIn, TokenRotateIn, ingest_url, render_source
from hookhub.inbound.service import inbound_for
from hookhub.inbound.settings import parse_settings
from hookhub.outbound.endpoint_models import SecretRotate
from hookhub.outbound.wire import json_response, no_content, parse_body, validation_from
from hookhub.runtime import Runtime
from hookhub.store.tables import source

PREFIX = "/ingest/api/v1/source"
router = APIRouter(tags=["Sources"])


async def find_source_id(conn: AsyncConnection, principal: Principal, source_ref: str) -> str:
    """Resolver for the destinations router (``build_endpoint_router``)."""
    principal.require_org()
    return (await store.get(conn, source_ref)).id


def _values(body: SourceIn, previous: Any | None) -> dict[str, Any]:
    config = dict(body.config or {})
    if previous is not None:
        kept = previous.config or {}
        same_kind = verifiers.ALIASES.get(body.type, body.type) in (previous.type, kept.get("provider"))
        if same_kind and body.config is None:
            config = dict(kept)
        elif same_kind:
            # Secrets are never shown back, so an update that leaves them out keeps them.
            for name in ("secret", "provider"):
                if name in kept and name not in config:
                    config[name] = kept[name]
    try:
        source_type, config = verifiers.normalize(body.type, config)
    except ValueError as exc:
        raise validation_error(["body", "config"], str(exc)) from None
    values: dict[str, Any] = {"name": body.name, "type": source_type, "config": config}
    # Fields left out of an update keep their value (the SDK sends only what it sets).
    if body.metadata is not None or previous is None:
        values["metadata"] = body.metadata or {}
    if body.uid is not None or previous is None:
        values["uid"] = body.uid
    if body.settings is not None or previous is None:
        old = previous.settings if previous is not None else None
        try:
            values["settings"] = parse_settings(body.settings, old)
        except ValidationError as exc:
            raise validation_from(exc, ("body", "settings")) from None
    dedupe = (values.get("settings") or (previous.settings if previous is not None else None) or {}).get(
        "dedupe"
    )
    if dedupe and dedupe.get("keyFrom") is None and not dedupe_paths(source_type, config):
        raise validation_error(
            ["body", "settings", "dedupe", "keyFrom"],
            f"a {source_type} source carries no delivery id of its own: name where the key is "
            '(a key path, e.g. "headers[\'X-Request-Id\']" or ["body.id", "body.type"])',
        )
    return values


async def _forget(runtime: Runtime, *rows: Any) -> None:
    keys = [key for row in rows for key in (row.ingest_key, row.previous_ingest_key)]
    await inbound_for(runtime).forget_sources(*keys)


async def _write(runtime: Runtime, statement: Any) -> Any:
    try:
        async with runtime.db.write() as conn:
            return await statement(conn)
    except IntegrityError:
        raise Conflict("A source with this uid already exists.") from None


@router.get(PREFIX, response_model=ListResponse[SourceOut])
async def list_sources(runtime: RuntimeDep, _principal: OrgPrincipalDep, request: Request) -> Response:
    page = Page(**page_args(request))
    base = runtime.settings.base_url
    async with runtime.db.read() as conn:
        result = await paginate(conn, sa.select(source), source.c.id, page, lambda r: render_source(r, base))
    return json_response(result)


def page_args(request: Request) -> dict[str, Any]:
    params = request.query_params
    args: dict[str, Any] = {"iterator": params.get("iterator")}
    if params.get("limit"):
        try:
            args["limit"] = max(1, min(250, int(params["limit"])))
        except ValueError:
            raise validation_error(["query", "limit"], "limit must be an integer") from None
    if params.get("order") in ("ascending", "descending"):
        from hookhub.api.pagination import Ordering

        args["order"] = Ordering(params["order"])
    return args


@router.post(PREFIX, response_model=SourceOut, openapi_extra=json_body(SourceIn), status_code=201)
async def create_source(runtime: RuntimeDep, _principal: OrgPrincipalDep, request: Request) -> Response:
    body = await parse_body(request, SourceIn)
    values = _values(body, None)
    row = await _write(runtime, lambda conn: store.insert(conn, values))
    return json_response(render_source(row, runtime.settings.base_url), 201)


@router.get(PREFIX + "/{source_ref}", response_model=SourceOut)
async def get_source(runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str) -> Response:
    async with runtime.db.read() as conn:
        row = await store.get(conn, source_ref)
    return json_response(render_source(row, runtime.settings.base_url))


@router.put(
    PREFIX + "/{source_ref}",
    response_model=SourceOut,
    responses={201: {"model": SourceOut}},
    openapi_extra=json_body(SourceIn),
)
async def upsert_source(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, request: Request
) -> Response:
    body = await parse_body(request, SourceIn)

    async def upsert(conn: AsyncConnection) -> tuple[Any, Any | None]:
        current = await store.find(conn, source_ref)
        if current is None:
            if ids.has_prefix(source_ref, "src"):
                await store.get(conn, source_ref)  # raises NotFound
            values = _values(body, None)
            values["uid"] = body.uid or source_ref
            return await store.insert(conn, values), None
        return await store.update(conn, current.id, _values(body, current)), current

    row, previous = await _write(runtime, upsert)
    if previous is not None:
        await _forget(runtime, previous)
    return json_response(render_source(row, runtime.settings.base_url), 200 if previous is not None else 201)


@router.delete(PREFIX + "/{source_ref}", status_code=204)
async def delete_source(runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str) -> Response:
    async with runtime.db.write() as conn:
        row = await store.get(conn, source_ref)
        await conn.execute(source.delete().where(source.c.id == row.id))
    await _forget(runtime, row)
    return no_content()


@router.post(
    PREFIX + "/{source_ref}/token/rotate",
    response_model=IngestUrlOut,
    openapi_extra=json_body(TokenRotateIn, required=False),
)
async def rotate_ingest_token(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, request: Request
) -> Response:
    """A new ingest key, so a new ingestUrl; the old one answers 404 (after ``gracePeriodSeconds``)."""
    raw = await request.body()
    options = await parse_body(request, TokenRotateIn) if raw.strip() else TokenRotateIn()

    async def rotate(conn: AsyncConnection) -> tuple[Any, Any]:
        current = await store.get(conn, source_ref, for_update=True)
        return await store.rotate_key(conn, current, options.grace_period_seconds), current

    row, previous = await _write(runtime, rotate)
    await _forget(runtime, previous)
    return json_response({"ingestUrl": ingest_url(runtime.settings.base_url, row.ingest_key)})


@router.get(
    PREFIX + "/{source_ref}/relay-secret",
    response_model=RelaySecretOut,
    summary="Get the source's relay signing secret",
)
async def get_relay_secret(runtime: RuntimeDep, principal: OrgPrincipalDep, source_ref: str) -> Response:
    """The Standard Webhooks secret of the ``hookhub-webhook-*`` headers on relayed events."""
    principal.require_secrets()
    async with runtime.db.read() as conn:
        row = await store.get(conn, source_ref)
    return json_response({"key": row.relay_secret})


@router.post(
    PREFIX + "/{source_ref}/relay-secret/rotate",
    response_model=RelaySecretOut,
    summary="Rotate the relay signing secret",
    openapi_extra=json_body(SecretRotate, required=False),
)
async def rotate_relay_secret(
    runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str, request: Request
) -> Response:
    """A new relay secret (``key`` or a fresh one); events are signed with the old one too for
    ``gracePeriodSeconds`` (default: the endpoints' secret grace period)."""
    raw = await request.body()
    options = await parse_body(request, SecretRotate) if raw.strip() else SecretRotate()
    grace = options.grace_period_seconds
    if grace is None:
        grace = runtime.settings.secret_grace_period_seconds

    async def rotate(conn: AsyncConnection) -> tuple[str, Any]:
        current = await store.get(conn, source_ref, for_update=True)
        return await store.rotate_relay_secret(conn, current, options.key, grace), current

    key, previous = await _write(runtime, rotate)
    await _forget(runtime, previous)
    return json_response({"key": key})


@router.post(PREFIX + "/{source_ref}/auth-token/rotate", response_model=AuthTokenOut)
async def rotate_auth_token(runtime: RuntimeDep, _principal: OrgPrincipalDep, source_ref: str) -> Response:
    """A new bearer / header token, shown once; the previous one stops working at once."""
    token = store.new_auth_token()
    async with runtime.db.write() as conn:
        row = await store.get(conn, source_ref, for_update=True)
        await store.update(conn, row.id, {"auth_token_hash": store.token_hash(token)})
    await _forget(runtime, row)
    return json_response({"token": token})
