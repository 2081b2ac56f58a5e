"""Request and response bodies of the sources API (Svix Ingest's shape plus ``settings``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from hookhub.api.models import ApiModel, JsonObject, StorableJson, Uid
from hookhub.http.fields import field_problem
from hookhub.inbound.settings import redact
from hookhub.store.types import utcnow

# Config keys never shown back (Svix's *ConfigOut models leave secrets out too).
_SECRET_CONFIG_KEYS = frozenset({"secret"})


class SourceIn(ApiModel):
    name: str = Field(min_length=1, max_length=256)
    uid: Uid | None = None
    metadata: dict[str, str] | None = None
    type: str = Field("generic-webhook", min_length=1, max_length=64)
    config: JsonObject | None = None
    # hookhub's extension; None on update keeps the current settings (the Svix SDK never sends it).
    settings: JsonObject | None = None


class TokenRotateIn(ApiModel):
    grace_period_seconds: int = Field(0, ge=0, le=7 * 24 * 3600)


class TestRequestIn(ApiModel):
    method: str = Field("POST", pattern=r"^(GET|POST|PUT|PATCH|DELETE)$")
    path: str = Field("", max_length=4096)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            problem = field_problem(name, text)
            if problem:
                raise ValueError(problem)
        return value

    body: Annotated[Any, StorableJson] = None

    @field_validator("headers")
    @classmethod
    def _latin1(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            try:
                name.encode("latin-1")
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(f"header {name!r}: HTTP headers carry latin-1 text only") from None
        return headers


def ingest_url(base_url: str, key: str) -> str:
    return f"{base_url}/webhook/{key}"


def render_source(row: Any, base_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "uid": row.uid,
        "name": row.name,
        "ingestUrl": ingest_url(base_url, row.ingest_key),
        "type": row.type,
        "config": {k: v for k, v in (row.config or {}).items() if k not in _SECRET_CONFIG_KEYS},
        "settings": redact(row.settings or {}),
        "authTokenSet": row.auth_token_hash is not None,
        "metadata": row.metadata or {},
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def _iso(moment: datetime | None) -> str:
    return (moment or utcnow()).isoformat().replace("+00:00", "Z")
