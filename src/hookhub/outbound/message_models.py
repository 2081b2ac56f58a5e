"""Message bodies and rendering (Svix ``MessageIn/Out``, ``MessagePrecheckIn``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import Field
from sqlalchemy.engine import Row

from hookhub.api.models import ApiModel, Uid, UtcTime
from hookhub.outbound.applications import ApplicationIn
from hookhub.outbound.endpoint_models import Channel, EventTypeName

Tag = Annotated[str, Field(pattern=r"^[a-zA-Z0-9\-_./\\#]+$", min_length=1, max_length=128)]
RequiredEventType = Annotated[EventTypeName, Field(min_length=1)]


class MessageIn(ApiModel):
    event_type: RequiredEventType
    event_id: Uid | None = None
    payload: dict[str, Any]
    channels: Annotated[list[Channel], Field(max_length=10)] | None = None
    tags: Annotated[list[Tag], Field(max_length=5)] | None = None
    payload_retention_period: Annotated[int, Field(ge=1, le=3650)] | None = None
    payload_retention_hours: Annotated[int, Field(ge=1, le=3650 * 24)] | None = None
    deliver_at: UtcTime | None = None
    # Creates the application named in the path when it does not exist yet (Svix behaviour).
    application: ApplicationIn | None = None


class MessagePrecheckIn(ApiModel):
    event_type: RequiredEventType
    channels: list[Channel] | None = None


EXPIRED_PAYLOAD = orjson.Fragment(b'{"expired":true}')


def render_message(row: Row, *, with_content: bool) -> dict[str, Any]:
    payload: Any = {}
    if with_content:
        # A deleted or expired payload reads as Svix's marker.
        payload = EXPIRED_PAYLOAD if row.payload is None else orjson.Fragment(row.payload)
    return {
        "id": row.id,
        "eventType": row.event_type,
        "eventId": row.event_id,
        "payload": payload,
        "channels": row.channels,
        "tags": row.tags,
        "timestamp": row.created_at,
        "deliverAt": row.deliver_at,
    }
