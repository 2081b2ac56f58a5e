"""Endpoint bodies and rendering (Svix ``EndpointIn/Patch/Out``), plus secret and header rules.

Shared by application endpoints and inbound-source destinations (same table, same fields).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy.engine import Row

from hookhub.api.models import ApiModel, MaxInFlight, ThrottleRate, Uid, UtcTime, Version
from hookhub.http.fields import field_problem
from hookhub.outbound.wire import check_endpoint_url
from hookhub.routing.filters import FilterError, compile_filter

SECRET_PREFIX = "whsec_"
MAX_CHANNELS = 10  # Svix's limit
EventTypeName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_.]+$", max_length=256)]
Channel = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_.:+]+$", min_length=1, max_length=128)]
# Headers hookhub sets itself; an endpoint cannot override them.
_RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection"}
_RESERVED_PREFIXES = ("webhook-", "svix-")
# Names that may carry a credential: their values are sent but never shown back, to anyone.
_SENSITIVE_PARTS = ("auth", "key", "secret", "token", "passw", "cookie", "session", "credential", "signature")


class EndpointFields(ApiModel):
    """Fields every write accepts; ``filterTypes`` is also read as ``eventTypes`` (current SDK),
    ``throttleRate`` also as ``rateLimit`` (older clients)."""

    description: str | None = None
    uid: Uid | None = None
    version: Version | None = None
    disabled: bool | None = None
    # An empty filter would silently mean "every message": Svix refuses it, and so does hookhub.
    filter_types: Annotated[list[EventTypeName], Field(min_length=1)] | None = None
    event_types: Annotated[list[EventTypeName], Field(min_length=1)] | None = None
    channels: Annotated[list[Channel], Field(min_length=1, max_length=MAX_CHANNELS)] | None = None
    metadata: dict[str, str] | None = None
    throttle_rate: ThrottleRate | None = None
    rate_limit: ThrottleRate | None = None
    # hookhub's content filter (docs/routing.md); null or {} for none.
    filter: dict[str, Any] | None = None

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_filter(value)

    # hookhub's own: deliveries in flight to the endpoint at once, across all workers.
    max_in_flight: MaxInFlight | None = None

    @field_validator("uid")
    @classmethod
    def _uid(cls, value: str | None) -> str | None:
        # A uid shaped like an id would make "{id or uid}" lookups ambiguous.
        if value is not None and value.startswith("ep_"):
            raise ValueError("uid must not start with 'ep_' (reserved for ids)")
        return value

    def given(self) -> set[str]:
        """Canonical names of the fields the caller sent (aliases folded)."""
        sent = set(self.model_fields_set)
        if "event_types" in sent:
            sent.add("filter_types")
        if "rate_limit" in sent:
            sent.add("throttle_rate")
        return sent - {"event_types", "rate_limit"}

    def column_values(self, fields: set[str]) -> dict[str, Any]:
        """Column values for ``fields`` (canonical names), with defaults for absent values."""
        values: dict[str, Any] = {}
        for name in fields:
            if name == "filter_types":
                types = self.filter_types if self.filter_types is not None else self.event_types
                values[name] = sorted(set(types)) if types else None
            elif name == "throttle_rate":
                values[name] = self.throttle_rate if self.throttle_rate is not None else self.rate_limit
            elif name == "channels":
                values[name] = sorted(set(self.channels)) if self.channels else None
            elif name == "description":
                values[name] = self.description or ""
            elif name == "version":
                values[name] = self.version or 1
            elif name == "disabled":
                values[name] = bool(self.disabled)
            elif name == "metadata":
                values[name] = self.metadata or {}
            elif name == "filter":
                values[name] = self.filter or None
            elif name in type(self).model_fields:
                values[name] = getattr(self, name)
        return values


class EndpointUpsert(EndpointFields):
    """PUT body: a full replacement of the endpoint's settings."""

    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_endpoint_url(value)

    def fields(self) -> set[str]:
        return {"url", "description", "uid", "version", "disabled", "filter_types", "channels"} | {
            "metadata",
            "throttle_rate",
            "filter",
            "max_in_flight",
        }


class EndpointCreate(EndpointUpsert):
    secret: str | None = None
    headers: dict[str, str] | None = None

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else normalise_secret(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_headers(value)


class EndpointPatch(EndpointFields):
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint_url(value)


class SecretRotate(ApiModel):
    key: str | None = None
    grace_period_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else normalise_secret(value)


class HeadersIn(ApiModel):
    headers: dict[str, str]

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return check_headers(value)


class HeadersPatch(HeadersIn):
    delete_headers: list[str] | None = None


def check_filter(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A filter that compiles, or a ValueError naming the bad operator and its JSON path."""
    if value:
        try:
            compile_filter(value)
        except FilterError as exc:
            raise ValueError(str(exc)) from None
    return value


def normalise_secret(value: str) -> str:
    """Accept base64 with or without ``whsec_``; store it with the prefix."""
    raw = value.removeprefix(SECRET_PREFIX)
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("secret must be base64, optionally prefixed with 'whsec_'") from None
    if not 24 <= len(decoded) <= 75:
        raise ValueError("secret must decode to between 24 and 75 bytes")
    return SECRET_PREFIX + raw


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        lowered = name.lower()
        problem = field_problem(name, value)
        if problem:
            raise ValueError(problem)
        if lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            raise ValueError(f"header {name!r} is set by hookhub and cannot be overridden")
    return headers


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_PARTS)


def render_headers(headers: dict[str, str]) -> dict[str, Any]:
    """Svix ``EndpointHeadersOut``: sensitive values are redacted and named in ``sensitive``."""
    sensitive = sorted(name for name in headers if is_sensitive_header(name))
    return {
        "headers": {k: v for k, v in headers.items() if not is_sensitive_header(k)},
        "sensitive": sensitive,
    }


def render_endpoint(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "uid": row.uid,
        "url": row.url,
        "description": row.description,
        "version": row.version,
        "disabled": row.disabled,
        "filterTypes": row.filter_types,
        "eventTypes": row.filter_types,
        "channels": row.channels,
        "metadata": row.metadata,
        "throttleRate": row.throttle_rate,
        "rateLimit": row.throttle_rate,
        "filter": row.filter,
        "maxInFlight": row.max_in_flight,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


class RecoverIn(ApiModel):
    """Re-send what failed for good in a window (Svix ``RecoverIn``)."""

    since: UtcTime
    until: UtcTime | None = None
