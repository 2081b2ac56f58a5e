"""Event types: ``/api/v1/event-type`` (Svix ``EventTypeIn/Patch/UpsertIn/Out``).

Names are the key. ``schemas`` maps a version ("1", "2" …) to a JSON Schema, checked to be a
valid schema. DELETE archives; ``?expunge=true`` removes the row. Writes need an org token.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import jsonschema
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from jsonschema.exceptions import SchemaError
from pydantic import Field, TypeAdapter, ValidationError, field_validator
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookhub.api.deps import OrgPrincipalDep, PrincipalDep, RuntimeDep
from hookhub.api.models import ApiModel, JsonObject, Uid
from hookhub.api.pagination import Page, paginate
from hookhub.api.schemas import EventTypeOut, ListResponse
from hookhub.errors import Conflict, NotFound, validation_error
from hookhub.outbound.wire import json_response, no_content
from hookhub.store.tables import event_type
from hookhub.store.types import utcnow

router = APIRouter(prefix="/api/v1/event-type", tags=["Event Type"])

NAME_RULE = "must be 1-256 letters, digits, '-', '_' or '.'"
_NAME: TypeAdapter[str] = TypeAdapter(Uid)
FlagName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9\-_.]+$", max_length=256)]


class EventTypePatch(ApiModel):
    description: str | None = None
    archived: bool | None = None
    deprecated: bool | None = None
    schemas: dict[str, JsonObject] | None = None
    group_name: Annotated[str, Field(max_length=256)] | None = None
    feature_flag: FlagName | None = None
    feature_flags: list[FlagName] | None = None

    @field_validator("schemas")
    @classmethod
    def _schemas(cls, value: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
        for version, schema in (value or {}).items():
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except SchemaError as exc:
                raise ValueError(
                    f"schema for version {version!r} is not a valid JSON Schema: {exc.message}"
                ) from None
        return value

    def column_values(self, fields: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in ("description", "archived", "deprecated"):
            if name in fields:
                values[name] = getattr(self, name) or ("" if name == "description" else False)
        if "schemas" in fields:
            values["schemas"] = self.schemas or None
        if "group_name" in fields:
            values["group_name"] = self.group_name
        # One column holds the flags, comma-separated (names cannot contain commas).
        if "feature_flags" in fields:
            values["feature_flag"] = ",".join(self.feature_flags) if self.feature_flags else None
        elif "feature_flag" in fields:
            values["feature_flag"] = self.feature_flag
        return values


class EventTypeUpsert(EventTypePatch):
    description: str

    ALL: ClassVar[frozenset[str]] = frozenset(
        {"description", "archived", "deprecated", "schemas", "group_name", "feature_flags"}
    )

    def all_values(self) -> dict[str, Any]:
        fields = set(self.ALL)
        if "feature_flag" in self.model_fields_set and "feature_flags" not in self.model_fields_set:
            fields = (fields - {"feature_flags"}) | {"feature_flag"}
        return self.column_values(fields)


class EventTypeIn(EventTypeUpsert):
    name: Uid


def render_event_type(row: Row, *, with_content: bool = True) -> dict[str, Any]:
    flags = row.feature_flag.split(",") if row.feature_flag else None
    return {
        "name": row.name,
        "description": row.description,
        "archived": row.archived,
        "deprecated": row.deprecated,
        "schemas": row.schemas if with_content else None,
        "groupName": row.group_name,
        "featureFlag": flags[0] if flags else None,
        "featureFlags": flags,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


async def _load(conn: AsyncConnection, name: str) -> Row | None:
    return (await conn.execute(sa.select(event_type).where(event_type.c.name == name))).first()


async def _insert(conn: AsyncConnection, name: str, values: dict[str, Any]) -> Row:
    now = utcnow()
    try:
        await conn.execute(event_type.insert().values(name=name, **values, created_at=now, updated_at=now))
    except IntegrityError:
        raise Conflict(f"Event type {name!r} already exists.") from None
    row = await _load(conn, name)
    assert row is not None
    return row


async def _update(conn: AsyncConnection, name: str, values: dict[str, Any]) -> Row:
    if values:
        values["updated_at"] = utcnow()
        await conn.execute(event_type.update().where(event_type.c.name == name).values(**values))
    row = await _load(conn, name)
    assert row is not None
    return row


def _check_name(name: str) -> None:
    try:
        _NAME.validate_python(name)
    except ValidationError:
        raise validation_error(["path", "name"], NAME_RULE, "string_pattern_mismatch") from None


def _defaults(values: dict[str, Any]) -> dict[str, Any]:
    return {"archived": False, "deprecated": False, **values}


@router.get("", response_model=ListResponse[EventTypeOut], summary="List event types")
async def list_event_types(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    page: Annotated[Page, Depends()],
    include_archived: bool = False,
    with_content: bool = False,
) -> Response:
    query = sa.select(event_type)
    if not include_archived:
        query = query.where(event_type.c.archived.is_(False))
    async with runtime.db.read() as conn:
        result = await paginate(
            conn,
            query,
            event_type.c.name,
            page,
            lambda row: render_event_type(row, with_content=with_content),
        )
    return json_response(result)


@router.post("", response_model=EventTypeOut, status_code=201, summary="Create an event type")
async def create(runtime: RuntimeDep, principal: OrgPrincipalDep, body: EventTypeIn) -> Response:
    async with runtime.db.write() as conn:
        row = await _insert(conn, body.name, _defaults(body.all_values()))
    return json_response(render_event_type(row), 201)


@router.get("/{name}", response_model=EventTypeOut, summary="Get an event type")
async def get(runtime: RuntimeDep, principal: PrincipalDep, name: str) -> Response:
    async with runtime.db.read() as conn:
        row = await _load(conn, name)
    if row is None:
        raise NotFound(f"Event type {name!r} not found.")
    return json_response(render_event_type(row))


@router.put(
    "/{name}",
    response_model=EventTypeOut,
    responses={201: {"model": EventTypeOut}},
    summary="Update an event type, or create it",
)
async def upsert(
    runtime: RuntimeDep, principal: OrgPrincipalDep, name: str, body: EventTypeUpsert
) -> Response:
    _check_name(name)
    async with runtime.db.write() as conn:
        if await _load(conn, name) is None:
            return json_response(
                render_event_type(await _insert(conn, name, _defaults(body.all_values()))), 201
            )
        row = await _update(conn, name, body.all_values())
    return json_response(render_event_type(row))


@router.patch("/{name}", response_model=EventTypeOut, summary="Partially update an event type")
async def patch(runtime: RuntimeDep, principal: OrgPrincipalDep, name: str, body: EventTypePatch) -> Response:
    async with runtime.db.write() as conn:
        if await _load(conn, name) is None:
            raise NotFound(f"Event type {name!r} not found.")
        row = await _update(conn, name, body.column_values(set(body.model_fields_set)))
    return json_response(render_event_type(row))


@router.delete("/{name}", status_code=204, summary="Archive an event type (expunge=true deletes it)")
async def delete(
    runtime: RuntimeDep, principal: OrgPrincipalDep, name: str, expunge: bool = False
) -> Response:
    async with runtime.db.write() as conn:
        if await _load(conn, name) is None:
            raise NotFound(f"Event type {name!r} not found.")
        if expunge:
            await conn.execute(event_type.delete().where(event_type.c.name == name))
        else:
            await _update(conn, name, {"archived": True})
    return no_content()
