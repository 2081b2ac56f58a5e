"""What the API answers, as models for the OpenAPI document (``response_model=``).

The routes write their JSON with orjson and return a ``Response``, so these models never
serialise anything: they describe it, and ``tests/test_openapi_contract.py`` checks with
schemathesis that the answers fit them. Names follow Svix's document where Svix has the shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class HttpErrorOut(Out):
    """Every error but a validation failure."""

    code: str
    detail: str


class ValidationError(Out):
    loc: list[str] = Field(description='Where: ["body", "field", …], ["query", "name"], ["path", "name"]')
    msg: str
    type: str


class HttpValidationErrorOut(Out):
    """422: what failed validation, and where."""

    code: str
    detail: list[ValidationError]


class ListResponse(Out, Generic[T]):
    """A page; ``iterator`` continues it, ``prevIterator`` goes back."""

    data: list[T]
    iterator: str | None
    prev_iterator: str | None = Field(alias="prevIterator")
    done: bool


class EmptyOut(Out):
    pass


# ---- applications, event types ------------------------------------------------------------------


class ApplicationOut(Out):
    id: str
    uid: str | None
    name: str
    throttle_rate: int | None = Field(alias="throttleRate")
    rate_limit: int | None = Field(alias="rateLimit")
    metadata: dict[str, str]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


class EventTypeOut(Out):
    name: str
    description: str
    archived: bool
    deprecated: bool
    schemas: dict[str, Any] | None
    group_name: str | None = Field(alias="groupName")
    feature_flag: str | None = Field(alias="featureFlag")
    feature_flags: list[str] | None = Field(alias="featureFlags")
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


# ---- endpoints ----------------------------------------------------------------------------------


class EndpointOut(Out):
    id: str
    uid: str | None
    url: str
    description: str
    version: int
    disabled: bool
    filter_types: list[str] | None = Field(alias="filterTypes")
    event_types: list[str] | None = Field(alias="eventTypes")
    channels: list[str] | None
    filter: dict[str, Any] | None = Field(None, description="Its content filter (docs/routing.md)")
    max_in_flight: int | None = Field(
        None,
        alias="maxInFlight",
        description="Deliveries in flight to it at once, at most (docs/delivery.md)",
    )
    metadata: dict[str, str]
    throttle_rate: int | None = Field(alias="throttleRate")
    rate_limit: int | None = Field(alias="rateLimit")
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


class EndpointSecretOut(Out):
    key: str


class RelaySecretOut(Out):
    key: str = Field(description="The Standard Webhooks secret of the hookhub-webhook-* headers")


class EndpointHeadersOut(Out):
    headers: dict[str, str]
    sensitive: list[str] = Field(description="Names whose values are not shown")


class EndpointStats(Out):
    success: int
    pending: int
    sending: int
    fail: int
    canceled: int
    filtered: int = Field(0, description="Messages its content filter (or transformation) left out")


class FilterTestOut(Out):
    matched: bool
    filter: dict[str, Any] | None
    document: dict[str, Any] = Field(description="What the filter was matched against (docs/routing.md)")


class TransformationOut(Out):
    code: str | None
    enabled: bool
    updated_at: datetime = Field(alias="updatedAt")


class TransformationSimulateOut(Out):
    method: str
    url: str
    payload: str = Field(description="The body the endpoint would be sent")
    headers: dict[str, str]
    cancel: bool


class DeliveryOut(Out):
    id: str
    endpoint_id: str = Field(alias="endpointId")
    status: str = Field(description="pending, sending, success, fail, canceled or filtered")
    attempt_count: int = Field(alias="attemptCount")
    next_attempt: datetime | None = Field(alias="nextAttempt")
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


class EndpointAttemptStats(Out):
    success: int
    fail: int
    canceled: int


# ---- messages and attempts ----------------------------------------------------------------------


class MessageOut(Out):
    id: str
    event_type: str = Field(alias="eventType")
    event_id: str | None = Field(alias="eventId")
    payload: dict[str, Any] = Field(description='The payload; {"expired": true} once it was deleted')
    channels: list[str] | None
    tags: list[str] | None
    timestamp: datetime
    deliver_at: datetime | None = Field(alias="deliverAt")


class MessagePrecheckOut(Out):
    active: bool


class MessageAttemptOut(Out):
    id: str
    url: str
    response: str
    response_status_code: int = Field(alias="responseStatusCode")
    response_duration_ms: int = Field(alias="responseDurationMs")
    status: int = Field(description="0 success, 1 pending, 2 fail, 3 sending")
    status_text: str = Field(alias="statusText")
    trigger_type: int = Field(alias="triggerType", description="0 scheduled, 1 manual")
    msg_id: str = Field(alias="msgId")
    endpoint_id: str = Field(alias="endpointId")
    timestamp: datetime
    msg: MessageOut | None = None


class EndpointMessageOut(MessageOut):
    """A message sent to one endpoint, with its delivery's status there."""

    status: int
    status_text: str = Field(alias="statusText")
    next_attempt: datetime | None = Field(alias="nextAttempt")


class MessageEndpointOut(Out):
    """An endpoint a message was sent to, with the delivery's status."""

    id: str
    url: str
    description: str
    uid: str | None
    version: int
    disabled: bool
    throttle_rate: int | None = Field(alias="throttleRate")
    event_types: list[str] | None = Field(alias="eventTypes")
    filter_types: list[str] | None = Field(alias="filterTypes")
    channels: list[str] | None
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    status: int
    status_text: str = Field(alias="statusText")
    next_attempt: datetime | None = Field(alias="nextAttempt")


class BackgroundTaskOut(Out):
    id: str
    status: str = Field(description="running, finished or failed")
    task: str
    data: dict[str, Any]
    updated_at: datetime = Field(alias="updatedAt")


class AppPortalAccessOut(Out):
    url: str
    token: str


# ---- sources and events -------------------------------------------------------------------------


class SourceOut(Out):
    id: str
    uid: str | None
    name: str
    ingest_url: str = Field(alias="ingestUrl")
    type: str
    config: dict[str, Any]
    settings: dict[str, Any]
    auth_token_set: bool = Field(alias="authTokenSet")
    metadata: dict[str, str]
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")


class IngestUrlOut(Out):
    ingest_url: str = Field(alias="ingestUrl")


class AuthTokenOut(Out):
    token: str


class EventOut(Out):
    id: str
    source_id: str = Field(alias="sourceId")
    method: str
    path: str
    query: str
    headers: dict[str, Any]
    body: str
    body_encoding: str = Field(alias="bodyEncoding", description="utf-8, or base64 for other bytes")
    event_type: str | None = Field(alias="eventType")
    received_at: datetime = Field(alias="receivedAt")
    expires_at: datetime | None = Field(alias="expiresAt")


class EventReplayOut(Out):
    event_id: str = Field(alias="eventId")
    deliveries_enqueued: int = Field(alias="deliveriesEnqueued")


class TestRequestOut(Out):
    status: int
    headers: dict[str, str]
    body: str
    body_encoding: str = Field(alias="bodyEncoding")
    event_id: str | None = Field(alias="eventId")


class ReplyAcceptedOut(Out):
    reply_id: str = Field(alias="replyId")
    accepted: bool


class HealthOut(Out):
    status: str = Field(description="ok, or error when a component is down (then a 503)")
    components: dict[str, str]
    reasons: dict[str, str] | None = None
