"""Endpoints, for any owner: an outbound application or an inbound source (its destinations).

Both live in the ``endpoint`` table; exactly one of ``app_id`` / ``source_id`` is set. The routes
are built by ``build_endpoint_router``, once per owner kind. Applications mount it as::

    build_endpoint_router("/api/v1/app/{app_id}/endpoint", find_app_id, owner_column="app_id")

To mount it for inbound sources (destinations), write a resolver with this signature and pass
``owner_column="source_id"``::

    async def find_source_id(conn: AsyncConnection, principal: Principal, source_ref: str) -> str:
        # load the source by id or uid, raise errors.NotFound if absent,
        # principal.require_org() (or another check) if the caller may not touch it,
        # and return source.id
        ...

    router = build_endpoint_router(
        "/ingest/api/v1/source/{source_id}/endpoint", find_source_id, owner_column="source_id",
        tags=["Source destinations"],
    )
    api.include_router(router)

The prefix must contain exactly one path parameter (the owner's id or uid); the router adds
``/{endpoint_id}`` and below. Routes: list/create, get/put/patch/delete, ``/secret``,
``/secret/rotate``, ``/headers`` (GET/PUT/PATCH) — the Svix endpoint API, with identical JSON —
and the routing routes of ``endpoint_routing.py`` (filter test, transformation).
The data functions below (``create_endpoint``, ``find_endpoint`` …) take the same
``owner_column`` and can be called directly inside one's own ``db.write()`` transaction.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.api.deps import PrincipalDep, RuntimeDep
from hookhub.api.pagination import Ordering, Page, paginate
from hookhub.api.schemas import (
    BackgroundTaskOut,
    EndpointHeadersOut,
    EndpointOut,
    EndpointSecretOut,
    ListResponse,
)
from hookhub.auth.tokens import Principal
from hookhub.delivery import flow, republish
from hookhub.delivery.signing import generate_secret, previous_after_rotation
from hookhub.delivery.ssrf import Network, destination_url, url_refusal
from hookhub.errors import Conflict, NotFound, validation_error
from hookhub.outbound.endpoint_models import (
    EndpointCreate,
    EndpointFields,
    EndpointPatch,
    EndpointUpsert,
    HeadersIn,
    HeadersPatch,
    RecoverIn,
    SecretRotate,
    render_endpoint,
    render_headers,
)
from hookhub.outbound.endpoint_routing import add_routing_routes
from hookhub.outbound.wire import json_response, no_content
from hookhub.store.tables import endpoint
from hookhub.store.types import utcnow
from hookhub.tasks import store as tasks

ResolveOwner = Callable[[AsyncConnection, Principal, str], Awaitable[str]]
OWNER_COLUMNS = ("app_id", "source_id")


# ---- data layer -------------------------------------------------------------------------------


def _ref_clause(ref: str) -> sa.ColumnElement[bool]:
    if ref.startswith("ep_"):
        return sa.or_(endpoint.c.id == ref, endpoint.c.uid == ref)
    return endpoint.c.uid == ref


async def find_endpoint(conn: AsyncConnection, owner_column: str, owner_id: str, ref: str) -> Row:
    """The owner's endpoint named ``ref`` (id or uid), or NotFound."""
    query = sa.select(endpoint).where(endpoint.c[owner_column] == owner_id, _ref_clause(ref)).limit(1)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"Endpoint {ref!r} not found.")
    return row


async def _write(conn: AsyncConnection, statement: sa.Executable) -> None:
    """Run an insert/update whose only possible conflict is a duplicate uid (the caller's
    transaction is rolled back by the raised Conflict)."""
    try:
        await conn.execute(statement)
    except IntegrityError:
        raise Conflict("An endpoint with this uid already exists.") from None


async def _checked_target(conn: AsyncConnection, owner_column: str, values: dict[str, Any]) -> dict[str, Any]:
    """A republish URL names an application that exists (stored by id); only sources may have one."""
    url = values.get("url")
    if url is not None and republish.is_republish(url):
        values["url"] = await republish.canonical_url(conn, owner_column, url)
    return values


def refuse_guarded_address(url: str | None, allowed: Sequence[Network]) -> None:
    """An http(s) URL whose host is an IP address the SSRF guard refuses, in any spelling, is
    not saved. Host names are judged only when sending, since their DNS answers change."""
    if url is None or republish.is_republish(url):
        return
    reason = url_refusal(destination_url(url), allowed)
    if reason:
        raise validation_error(["body", "url"], reason)


async def create_endpoint(
    conn: AsyncConnection, owner_column: str, owner_id: str, body: EndpointCreate, *, uid: str | None = None
) -> Row:
    now = utcnow()
    values = await _checked_target(conn, owner_column, body.column_values(body.fields()))
    if uid is not None and values.get("uid") is None:
        values["uid"] = uid
    endpoint_id = ids.new_id("ep")
    await _write(
        conn,
        endpoint.insert().values(
            id=endpoint_id,
            **{owner_column: owner_id},
            **values,
            secret=body.secret or generate_secret(),
            previous_secrets=[],
            headers=body.headers or {},
            created_at=now,
            updated_at=now,
        ),
    )
    if values.get("max_in_flight") is not None:
        await conn.execute(flow.limit_statement(conn.dialect.name, endpoint_id, values["max_in_flight"]))
    return await find_endpoint(conn, owner_column, owner_id, endpoint_id)


async def update_endpoint(
    conn: AsyncConnection, owner_column: str, current: Row, body: EndpointFields, fields: set[str]
) -> Row:
    values = await _checked_target(conn, owner_column, body.column_values(fields))
    if values.get("disabled") is False and current.disabled:
        values["failing_since"] = None  # re-enabled: the failure streak starts over
    if values:
        values["updated_at"] = utcnow()
        await _write(conn, endpoint.update().where(endpoint.c.id == current.id).values(**values))
    if "max_in_flight" in values and values["max_in_flight"] != current.max_in_flight:
        await conn.execute(flow.limit_statement(conn.dialect.name, current.id, values["max_in_flight"]))
    return await find_endpoint(conn, owner_column, current._mapping[owner_column], current.id)


async def rotate_secret(conn: AsyncConnection, current: Row, new_key: str | None, grace_seconds: int) -> str:
    """Make ``new_key`` (or a fresh one) current; the old key keeps signing for ``grace_seconds``
    (the delivery engine signs with the current key and every unexpired previous one)."""
    key = new_key or generate_secret()
    now = utcnow()
    previous = previous_after_rotation(current.secret, current.previous_secrets or [], grace_seconds, now)
    await conn.execute(
        endpoint.update()
        .where(endpoint.c.id == current.id)
        .values(secret=key, previous_secrets=previous, updated_at=now)
    )
    return key


# ---- routes -----------------------------------------------------------------------------------


def _declare_path(name: str) -> Any:
    """A dependency that only declares the owner's path parameter (``{app_id}``, ``{source_id}``),
    which the routes read from ``request.path_params``: the OpenAPI document names it then."""

    async def declared(**_: str) -> None:
        return None

    owner = inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Path(description="Its id or uid")]
    )
    declared.__signature__ = inspect.Signature([owner])  # type: ignore[attr-defined]
    return Depends(declared)


def build_endpoint_router(
    prefix: str,
    resolve_owner: ResolveOwner,
    *,
    owner_column: str = "app_id",
    tags: list[str] | None = None,
) -> APIRouter:
    """The Svix endpoint routes under ``prefix`` for owners found by ``resolve_owner``."""
    if owner_column not in OWNER_COLUMNS:
        raise ValueError(f"owner_column must be one of {OWNER_COLUMNS}")
    params = re.findall(r"{(\w+)}", prefix)
    if len(params) != 1:
        raise ValueError("prefix must contain exactly one path parameter (the owner's id or uid)")
    owner_param = params[0]
    router = APIRouter(prefix=prefix, tags=tags or ["Endpoint"], dependencies=[_declare_path(owner_param)])
    item = "/{endpoint_id}"

    async def owner(conn: AsyncConnection, request: Request, principal: Principal) -> str:
        return await resolve_owner(conn, principal, request.path_params[owner_param])

    @router.get("", response_model=ListResponse[EndpointOut], summary="List endpoints")
    async def list_endpoints(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, page: Annotated[Page, Depends()]
    ) -> Response:
        async with runtime.db.read() as conn:
            owner_id = await owner(conn, request, principal)
            query = sa.select(endpoint).where(endpoint.c[owner_column] == owner_id)
            result = await paginate(
                conn, query, endpoint.c.id, page, render_endpoint, default_order=Ordering.descending
            )
        return json_response(result)

    @router.post("", response_model=EndpointOut, status_code=201, summary="Create an endpoint")
    async def create(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, body: EndpointCreate
    ) -> Response:
        refuse_guarded_address(body.url, runtime.settings.private_networks_allowed)
        async with runtime.db.write() as conn:
            owner_id = await owner(conn, request, principal)
            row = await create_endpoint(conn, owner_column, owner_id, body)
        return json_response(render_endpoint(row), 201)

    @router.get(item, response_model=EndpointOut, summary="Get an endpoint")
    async def get(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        async with runtime.db.read() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
        return json_response(render_endpoint(row))

    @router.put(
        item,
        response_model=EndpointOut,
        responses={201: {"model": EndpointOut}},
        summary="Update an endpoint, or create it with this uid",
    )
    async def upsert(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str, body: EndpointUpsert
    ) -> Response:
        refuse_guarded_address(body.url, runtime.settings.private_networks_allowed)
        async with runtime.db.write() as conn:
            owner_id = await owner(conn, request, principal)
            try:
                current = await find_endpoint(conn, owner_column, owner_id, endpoint_id)
            except NotFound:
                if endpoint_id.startswith("ep_"):
                    raise
                create = EndpointCreate.model_validate(body.model_dump())
                row = await create_endpoint(conn, owner_column, owner_id, create, uid=endpoint_id)
                return json_response(render_endpoint(row), 201)
            row = await update_endpoint(conn, owner_column, current, body, body.fields())
        return json_response(render_endpoint(row))

    @router.patch(item, response_model=EndpointOut, summary="Partially update an endpoint")
    async def patch(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str, body: EndpointPatch
    ) -> Response:
        refuse_guarded_address(body.url, runtime.settings.private_networks_allowed)
        async with runtime.db.write() as conn:
            owner_id = await owner(conn, request, principal)
            current = await find_endpoint(conn, owner_column, owner_id, endpoint_id)
            fields = body.given()
            if "url" in fields and body.url is None:
                fields.discard("url")
            row = await update_endpoint(conn, owner_column, current, body, fields)
        return json_response(render_endpoint(row))

    @router.delete(item, status_code=204, summary="Delete an endpoint")
    async def delete(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        async with runtime.db.write() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
            await conn.execute(endpoint.delete().where(endpoint.c.id == row.id))
        return no_content()

    @router.get(
        item + "/secret", response_model=EndpointSecretOut, summary="Get the endpoint's signing secret"
    )
    async def get_secret(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        principal.require_secrets()
        async with runtime.db.read() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
        return json_response({"key": row.secret})

    @router.post(
        item + "/secret/rotate",
        response_model=EndpointSecretOut,
        summary="Rotate the signing secret (old key valid for a grace period)",
    )
    async def rotate(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str, body: SecretRotate
    ) -> Response:
        grace = body.grace_period_seconds
        if grace is None:
            grace = runtime.settings.secret_grace_period_seconds
        async with runtime.db.write() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
            key = await rotate_secret(conn, row, body.key, grace)
        # Svix's document once said 204; its current SDKs (2.9) read the new key from the answer,
        # and older ones ignore a body: answering with it suits both.
        return json_response({"key": key})

    @router.get(
        item + "/headers", response_model=EndpointHeadersOut, summary="Get the endpoint's extra headers"
    )
    async def get_headers(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str
    ) -> Response:
        async with runtime.db.read() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
        return json_response(render_headers(row.headers or {}))

    async def _store_headers(
        request: Request, runtime: Any, principal: Principal, ref: str, merge: Any
    ) -> None:
        async with runtime.db.write() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), ref)
            headers = merge(dict(row.headers or {}))
            await conn.execute(
                endpoint.update().where(endpoint.c.id == row.id).values(headers=headers, updated_at=utcnow())
            )

    @router.put(item + "/headers", status_code=204, summary="Replace the endpoint's extra headers")
    async def set_headers(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str, body: HeadersIn
    ) -> Response:
        await _store_headers(request, runtime, principal, endpoint_id, lambda _old: body.headers)
        return no_content()

    @router.patch(item + "/headers", status_code=204, summary="Add, change or delete extra headers")
    async def patch_headers(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str, body: HeadersPatch
    ) -> Response:
        def merge(old: dict[str, str]) -> dict[str, str]:
            doomed = {name.lower() for name in body.delete_headers or ()}
            kept = {k: v for k, v in old.items() if k.lower() not in doomed}
            return {**kept, **body.headers}

        await _store_headers(request, runtime, principal, endpoint_id, merge)
        return no_content()

    @router.post(
        item + "/recover",
        status_code=202,
        response_model=BackgroundTaskOut,
        summary="Re-send what failed since a time",
    )
    async def recover(
        request: Request, runtime: RuntimeDep, principal: PrincipalDep, endpoint_id: str, body: RecoverIn
    ) -> Response:
        params = {
            "since": body.since.isoformat(),
            "until": body.until.isoformat() if body.until else None,
        }
        async with runtime.db.write() as conn:
            row = await find_endpoint(conn, owner_column, await owner(conn, request, principal), endpoint_id)
            task = await tasks.start(
                conn,
                "endpoint.recover",
                {"endpointId": row.id, **params},
                app_id=row.app_id,
            )
        runtime.tasks_started()
        return json_response(tasks.render(task), 202)

    add_routing_routes(router, item, owner, owner_column, find_endpoint)
    return router
