"""A source's ``settings`` body: how its ingest URL authenticates, answers, throttles and validates.

Validated strictly (unknown keys are errors) when a source is created or changed, and stored as
the JSON the caller sent, normalised. ``compiled.py`` turns it into what the hot path uses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from hookhub.errors import validation_error
from hookhub.relay import keypath

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class StrictModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class NoAuth(StrictModel):
    type: Literal["none"] = "none"


class BearerAuth(StrictModel):
    """``Authorization: Bearer <token>``; the token comes from ``auth-token/rotate``."""

    type: Literal["bearer"]


class HeaderAuth(StrictModel):
    """The generated token, verbatim, in a named header (BotGhost's ``Authorization: API_KEY``)."""

    type: Literal["header"]
    header: str = Field(
        "Authorization", min_length=1, max_length=256, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
    )


class BasicAuth(StrictModel):
    """HTTP basic auth; either part may be empty (Losant). ``password`` omitted on update keeps it."""

    type: Literal["basic"]
    username: str = ""
    password: str | None = None

    @model_validator(mode="after")
    def _not_both_empty(self) -> BasicAuth:
        if not self.username and not self.password and self.password is not None:
            raise ValueError("basic auth needs a username or a password")
        return self


Auth = Annotated[NoAuth | BearerAuth | HeaderAuth | BasicAuth, Field(discriminator="type")]


class ResponseSettings(StrictModel):
    """What an accepted request is answered with when the source does not wait for a reply."""

    status: int = Field(200, ge=200, le=599)
    body: str | dict[str, Any] | list[Any] | None = None
    content_type: str | None = Field(None, max_length=256)


class ThrottleSettings(StrictModel):
    limit: int = Field(100, ge=1, le=1_000_000)
    period_seconds: float = Field(10, gt=0, le=86_400)


class ReplySettings(StrictModel):
    wait: bool = False
    timeout_seconds: float = Field(30, gt=0, le=300)


class SourceSettings(StrictModel):
    auth: Auth = Field(default_factory=NoAuth)
    methods: list[Literal["GET", "POST", "PUT", "PATCH", "DELETE"]] = Field(
        default_factory=lambda: list(ALL_METHODS), min_length=1
    )
    response: ResponseSettings = Field(default_factory=ResponseSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    max_body_bytes: int = Field(1024 * 1024, ge=0, le=64 * 1024 * 1024)
    schema_: dict[str, Any] | bool | None = Field(None, alias="schema")
    event_type_from: str | None = None
    reply: ReplySettings = Field(default_factory=ReplySettings)
    route_key_path: str | None = None
    listen_secret: str | None = Field(None, min_length=8, max_length=256)
    listeners_may_publish: bool = False
    retention_days: int | None = Field(None, ge=1, le=3650)

    @field_validator("event_type_from", "route_key_path")
    @classmethod
    def _key_path(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                keypath.parse(value)
            except keypath.KeyPathError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("schema_")
    @classmethod
    def _json_schema(cls, value: dict[str, Any] | bool | None) -> dict[str, Any] | bool | None:
        if value is not None:
            try:
                jsonschema.validators.validator_for(value).check_schema(value)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from exc
        return value

    @field_validator("methods")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def parse_settings(raw: dict[str, Any] | None, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate ``raw`` (pydantic errors propagate as 422) and return the JSON to store.

    A basic-auth password left out keeps the previous one, so a settings object read back
    from the API (where it is redacted) can be sent again.
    """
    parsed = SourceSettings.model_validate(raw or {})
    if isinstance(parsed.auth, BasicAuth) and parsed.auth.password is None:
        old_auth = (previous or {}).get("auth") or {}
        kept = old_auth.get("password") if old_auth.get("type") == "basic" else None
        parsed.auth.password = kept or ""
        if not parsed.auth.username and not parsed.auth.password:
            raise validation_error(["settings", "auth"], "basic auth needs a username or a password")
    return parsed.to_json()


def redact(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the API shows them: secrets left out."""
    shown = dict(settings)
    auth = dict(shown.get("auth") or {"type": "none"})
    if auth.get("type") == "basic":
        auth["passwordSet"] = bool(auth.pop("password", ""))
    shown["auth"] = auth
    return shown
