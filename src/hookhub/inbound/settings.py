"""A source's ``settings`` body: how its ingest URL authenticates, answers, throttles and validates.

Validated strictly (unknown keys are errors) when a source is created or changed, and stored as
the JSON the caller sent, normalised. ``compiled.py`` turns it into what the hot path uses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from hookhub.errors import validation_error
from hookhub.http import fields
from hookhub.http.responses import NO_CONTENT
from hookhub.relay import keypath

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# The validation context of settings read back from the database rather than sent by a user.
STORED: dict[str, Any] = {"stored": True}


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
    """HTTP basic auth; either part may be empty (Losant). ``password`` omitted on update keeps it.

    The password is never stored: ``parse_settings`` keeps a salted hash as ``passwordHash``.
    """

    type: Literal["basic"]
    username: str = ""
    password: str | None = None
    password_hash: str | None = Field(None, pattern=r"^([0-9a-f]{64}|s256\$[0-9a-f]{32}\$[0-9a-f]{64})$")

    @model_validator(mode="after")
    def _not_both_empty(self) -> BasicAuth:
        if not self.username and not self.password and self.password is not None:
            raise ValueError("basic auth needs a username or a password")
        return self


Auth = Annotated[NoAuth | BearerAuth | HeaderAuth | BasicAuth, Field(discriminator="type")]


class ResponseSettings(StrictModel):
    """What an accepted request is answered with when the source does not wait for a reply.

    Checked when the source is saved: ``contentType`` is a media type a header can carry, and a 204
    or 304 has no body. Settings stored before these checks are read with ``STORED`` (unchecked)
    and made safe when compiled (``compiled._fixed_response``).
    """

    status: int = Field(200, ge=200, le=599)
    body: str | dict[str, Any] | list[Any] | None = None
    content_type: str | None = Field(None, max_length=256)

    @field_validator("content_type")
    @classmethod
    def _media_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _stored(info):
            problem = fields.media_type_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _bodiless(self, info: ValidationInfo) -> ResponseSettings:
        if self.status in NO_CONTENT and self.body not in (None, "") and not _stored(info):
            raise ValueError(f"a {self.status} answer has no body: leave body out, or choose another status")
        return self


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


class ThrottleSettings(StrictModel):
    limit: int = Field(100, ge=1, le=1_000_000)
    period_seconds: float = Field(10, gt=0, le=86_400)


class ReplySettings(StrictModel):
    wait: bool = False
    timeout_seconds: float = Field(30, gt=0, le=300)


class DedupeSettings(StrictModel):
    """Answer a provider's retry of a delivery as the first was, and store it once
    (``inbound/dedupe.py``). ``keyFrom``: a key path, or several hashed together; left out, the
    provider's own delivery id."""

    key_from: str | list[str] | None = None
    window_seconds: int = Field(3600, ge=1, le=7 * 86_400)

    @field_validator("key_from")
    @classmethod
    def _key_paths(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not 1 <= len(value) <= 10:
            raise ValueError("keyFrom takes one key path, or a list of 1 to 10")
        for text in [value] if isinstance(value, str) else value or []:
            try:
                keypath.parse(text)
            except keypath.KeyPathError as exc:
                raise ValueError(str(exc)) from exc
        return value


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
    # How far a provider's signed timestamp may be from now (and how long its signed requests
    # are remembered as replays); None: the provider's default. Ignored by providers that sign
    # no timestamp; Alexa's is at most 150 s.
    replay_window_seconds: float | None = Field(None, ge=1, le=86_400)
    dedupe: DedupeSettings | None = None

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

    A basic-auth password is stored as a salted hash (``passwordHash``); left out, the previous
    one is kept, so a settings object read back from the API (where it is redacted) can be sent
    again.
    """
    parsed = SourceSettings.model_validate(raw or {})
    auth = parsed.auth
    if isinstance(auth, BasicAuth):
        if auth.password_hash is not None:
            raise validation_error(["settings", "auth", "passwordHash"], "set by hookhub; send password")
        if auth.password is not None:
            auth.password_hash = password_hash(auth.password)
        else:
            auth.password_hash = stored_password_hash((previous or {}).get("auth") or {})
        auth.password = None
        if not auth.username and password_matches(b"", auth.password_hash):
            raise validation_error(["settings", "auth"], "basic auth needs a username or a password")
    return parsed.model_dump(mode="json", by_alias=True, exclude={"auth": {"password"}})


def password_hash(password: str) -> str:
    """``s256$<salt>$<HMAC-SHA256(salt, password)>``: salted, so equal passwords (and a leaked
    table) give nothing away, and as cheap as the check every request makes."""
    salt = secrets.token_hex(16)
    return f"s256${salt}${_salted(salt, password.encode())}"


def password_matches(password: bytes, stored: str) -> bool:
    """Constant-time check of a password against ``password_hash``'s output, or against the bare
    sha256 hex written by 0003 and before this format (kept until the password is set again)."""
    if stored.startswith("s256$"):
        _, salt, digest = stored.split("$")
        return hmac.compare_digest(_salted(salt, password), digest)
    return hmac.compare_digest(hashlib.sha256(password).hexdigest(), stored)


def _salted(salt: str, password: bytes) -> str:
    return hmac.new(bytes.fromhex(salt), password, hashlib.sha256).hexdigest()


def stored_password_hash(auth: dict[str, Any]) -> str:
    """The password hash of stored basic-auth settings (written in plain text before 0003)."""
    if auth.get("type") != "basic":
        return password_hash("")
    return auth.get("passwordHash") or password_hash(auth.get("password") or "")


def redact(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the API shows them: secrets left out."""
    shown = dict(settings)
    auth = dict(shown.get("auth") or {"type": "none"})
    if auth.get("type") == "basic":
        auth["passwordSet"] = not password_matches(b"", stored_password_hash(auth))
        auth.pop("password", None)
        auth.pop("passwordHash", None)
    shown["auth"] = auth
    return shown
