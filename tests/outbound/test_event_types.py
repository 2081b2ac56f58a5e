"""Event types through the official svix SDK: CRUD, schemas, archive vs expunge, listing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from svix.api import EventTypeIn, EventTypeListOptions, EventTypePatch, EventTypeUpsertIn, Svix
from svix.api.event_type import EventTypeDeleteOptions
from svix.exceptions import HttpError

SCHEMA = {"1": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}}


def _name() -> str:
    return f"user.signup-{uuid.uuid4().hex[:8]}"


def test_event_type_crud_with_the_sdk(svix: Svix) -> None:
    name = _name()
    created = svix.event_type.create(
        EventTypeIn(
            name=name,
            description="A user signed up",
            schemas=SCHEMA,
            group_name="user",
            feature_flags=["beta"],
        )
    )
    assert (created.name, created.description, created.archived, created.deprecated) == (
        name,
        "A user signed up",
        False,
        False,
    )
    assert created.schemas == SCHEMA and created.group_name == "user" and created.feature_flags == ["beta"]

    patched = svix.event_type.patch(name, EventTypePatch(deprecated=True))
    assert (
        patched.deprecated is True and patched.description == "A user signed up" and patched.schemas == SCHEMA
    )

    replaced = svix.event_type.upsert(name, EventTypeUpsertIn(description="replaced"))
    assert replaced.description == "replaced" and replaced.schemas is None and replaced.deprecated is False

    assert svix.event_type.get(name).description == "replaced"

    svix.event_type.delete(name)  # archives
    assert svix.event_type.get(name).archived is True
    listed = svix.event_type.list(EventTypeListOptions(limit=250))
    assert name not in [et.name for et in listed.data]
    with_archived = svix.event_type.list(EventTypeListOptions(limit=250, include_archived=True))
    assert name in [et.name for et in with_archived.data]

    svix.event_type.delete(name, EventTypeDeleteOptions(expunge=True))
    with pytest.raises(HttpError) as gone:
        svix.event_type.get(name)
    assert gone.value.status_code == 404


def test_list_with_content_includes_schemas(svix: Svix) -> None:
    name = _name()
    svix.event_type.create(EventTypeIn(name=name, description="d", schemas=SCHEMA))
    plain = {et.name: et for et in svix.event_type.list(EventTypeListOptions(limit=250)).data}
    assert plain[name].schemas is None
    full = {
        et.name: et for et in svix.event_type.list(EventTypeListOptions(limit=250, with_content=True)).data
    }
    assert full[name].schemas == SCHEMA


def test_put_creates_a_missing_event_type(svix: Svix) -> None:
    name = _name()
    made = svix.event_type.upsert(name, EventTypeUpsertIn(description="via put"))
    assert made.name == name and svix.event_type.get(name).description == "via put"


def test_duplicate_name_is_409(svix: Svix) -> None:
    name = _name()
    svix.event_type.create(EventTypeIn(name=name, description="d"))
    with pytest.raises(HttpError) as conflict:
        svix.event_type.create(EventTypeIn(name=name, description="again"))
    assert conflict.value.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name", "description": "d"}, "name"),
        ({"name": "ok.name", "description": "d", "schemas": {"1": {"type": "no-such-type"}}}, "schemas"),
        ({"name": "ok.name", "description": "d", "schemas": {"1": {"required": "id"}}}, "schemas"),
        ({"name": "ok.name"}, "description"),
    ],
)
def test_bad_event_type_is_422(api: httpx.Client, body: dict, field: str) -> None:
    response = api.post("/api/v1/event-type", json=body)
    assert response.status_code == 422, response.text
    assert any(field in err["loc"] for err in response.json()["detail"])
    assert api.get("/api/v1/event-type/ok.name").status_code == 404


def test_unknown_event_type_is_404(api: httpx.Client) -> None:
    assert api.get("/api/v1/event-type/nope.nope").status_code == 404
    assert api.patch("/api/v1/event-type/nope.nope", json={"description": "x"}).status_code == 404
    assert api.delete("/api/v1/event-type/nope.nope").status_code == 404
