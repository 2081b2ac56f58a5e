"""Applications: ``/api/v1/app`` (Svix ``ApplicationIn/Patch/Out``).

Org tokens see every application; an app-scoped token sees only its own and cannot create,
change or delete applications.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from pydantic import Field, field_validator
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub import ids
from hookhub.api.deps import OrgPrincipalDep, PrincipalDep, RuntimeDep
from hookhub.api.models import ApiModel, ThrottleRate, Uid
from hookhub.api.pagination import Page, paginate
from hookhub.api.schemas import ApplicationOut, ListResponse
from hookhub.errors import Conflict, NotFound
from hookhub.outbound.scope import app_ref_clause, find_app
from hookhub.outbound.wire import json_response, no_content
from hookhub.store.tables import application
from hookhub.store.types import utcnow

router = APIRouter(prefix="/api/v1/app", tags=["Application"])


class ApplicationPatch(ApiModel):
    name: Annotated[str, Field(min_length=1)] | None = None
    uid: Uid | None = None
    throttle_rate: ThrottleRate | None = None
    rate_limit: ThrottleRate | None = None  # older clients
    metadata: dict[str, str] | None = None

    @field_validator("uid")
    @classmethod
    def _uid(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("app_"):
            raise ValueError("uid must not start with 'app_' (reserved for ids)")
        return value

    def column_values(self, fields: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "rate_limit" in fields or "throttle_rate" in fields:
            values["throttle_rate"] = (
                self.throttle_rate if self.throttle_rate is not None else self.rate_limit
            )
        if "metadata" in fields:
            values["metadata"] = self.metadata or {}
        for name in ("name", "uid"):
            if name in fields:
                values[name] = getattr(self, name)
        return values


class ApplicationIn(ApplicationPatch):
    name: Annotated[str, Field(min_length=1)]

    def all_values(self) -> dict[str, Any]:
        return self.column_values({"name", "uid", "throttle_rate", "metadata"})


def render_app(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "uid": row.uid,
        "name": row.name,
        "throttleRate": row.throttle_rate,
        "rateLimit": row.throttle_rate,
        "metadata": row.metadata,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


async def _execute(conn: AsyncConnection, statement: sa.Executable) -> None:
    try:
        await conn.execute(statement)
    except IntegrityError:
        raise Conflict("An application with this uid already exists.") from None


async def create_app(conn: AsyncConnection, values: dict[str, Any]) -> Row:
    now = utcnow()
    app_id = ids.new_id("app")
    await _execute(conn, application.insert().values(id=app_id, **values, created_at=now, updated_at=now))
    return (await conn.execute(sa.select(application).where(application.c.id == app_id))).one()


async def _update_app(conn: AsyncConnection, current: Row, values: dict[str, Any]) -> Row:
    if values:
        values["updated_at"] = utcnow()
        await _execute(conn, application.update().where(application.c.id == current.id).values(**values))
    return (await conn.execute(sa.select(application).where(application.c.id == current.id))).one()


@router.get("", response_model=ListResponse[ApplicationOut], summary="List applications")
async def list_apps(
    runtime: RuntimeDep, principal: PrincipalDep, page: Annotated[Page, Depends()]
) -> Response:
    query = sa.select(application)
    if not principal.is_org:
        query = query.where(application.c.id == principal.app_id)
    async with runtime.db.read() as conn:
        result = await paginate(conn, query, application.c.id, page, render_app)
    return json_response(result)


@router.post(
    "",
    response_model=ApplicationOut,
    status_code=201,
    responses={200: {"model": ApplicationOut, "description": "getIfExists: the application already there"}},
    summary="Create an application",
)
async def create(
    runtime: RuntimeDep, principal: OrgPrincipalDep, body: ApplicationIn, get_if_exists: bool = False
) -> Response:
    async with runtime.db.write() as conn:
        if get_if_exists and body.uid is not None:
            existing = (
                await conn.execute(sa.select(application).where(application.c.uid == body.uid))
            ).first()
            if existing is not None:
                return json_response(render_app(existing), 200)
        row = await create_app(conn, body.all_values())
    return json_response(render_app(row), 201)


@router.get("/{app_id}", response_model=ApplicationOut, summary="Get an application")
async def get(runtime: RuntimeDep, principal: PrincipalDep, app_id: str) -> Response:
    async with runtime.db.read() as conn:
        row = await find_app(conn, principal, app_id)
    return json_response(render_app(row))


@router.put(
    "/{app_id}",
    response_model=ApplicationOut,
    responses={201: {"model": ApplicationOut}},
    summary="Update an application, or create it with this uid",
)
async def upsert(
    runtime: RuntimeDep, principal: OrgPrincipalDep, app_id: str, body: ApplicationIn
) -> Response:
    async with runtime.db.write() as conn:
        current = (await conn.execute(sa.select(application).where(app_ref_clause(app_id)))).first()
        if current is None:
            if app_id.startswith("app_"):
                raise NotFound(f"Application {app_id!r} not found.")
            values = body.all_values()
            values["uid"] = values["uid"] or app_id
            return json_response(render_app(await create_app(conn, values)), 201)
        row = await _update_app(conn, current, body.all_values())
    return json_response(render_app(row))


@router.patch("/{app_id}", response_model=ApplicationOut, summary="Partially update an application")
async def patch(
    runtime: RuntimeDep, principal: OrgPrincipalDep, app_id: str, body: ApplicationPatch
) -> Response:
    async with runtime.db.write() as conn:
        current = await find_app(conn, principal, app_id)
        fields = set(body.model_fields_set)
        if body.name is None:
            fields.discard("name")  # name is required; null means "leave it"
        row = await _update_app(conn, current, body.column_values(fields))
    return json_response(render_app(row))


@router.delete("/{app_id}", status_code=204, summary="Delete an application and everything in it")
async def delete(runtime: RuntimeDep, principal: OrgPrincipalDep, app_id: str) -> Response:
    async with runtime.db.write() as conn:
        current = await find_app(conn, principal, app_id)
        await conn.execute(application.delete().where(application.c.id == current.id))
    return no_content()
