"""A source as the hot path needs it: settings turned into ready checks, built once and cached."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jsonschema
import orjson

from hookhub.http import fields
from hookhub.http.responses import NO_CONTENT
from hookhub.inbound import verifiers
from hookhub.inbound.dedupe import Dedupe, compile_dedupe, provider_paths
from hookhub.inbound.settings import STORED, SourceSettings, password_matches, stored_password_hash
from hookhub.relay import keypath
from hookhub.relay.signature import relay_keys
from hookhub.store.types import utcnow

TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@dataclass(frozen=True, slots=True)
class FixedResponse:
    status: int
    body: bytes
    content_type: bytes


REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class AuthCheck:
    """``kind``: none | bearer | header | basic. Failure → the reason, else None."""

    kind: str
    header: str = "authorization"
    token_hash: str | None = None
    username: bytes = b""
    password_hash: str = ""  # the basic-auth password's salted hash (settings.password_hash)

    def failure(self, headers: dict[str, str]) -> str | None:
        if self.kind == "none":
            return None
        if self.kind == "basic":
            return self._basic(headers.get("authorization"))
        value = headers.get(self.header)
        if not value:
            return f"missing {self.header} header"
        if self.kind == "bearer" or value[:7].lower() == "bearer ":
            scheme, _, value = value.partition(" ")
            if scheme.lower() != "bearer":
                return "Authorization must be 'Bearer <token>'"
        if self.token_hash is None:
            return "no auth token has been issued for this source (POST …/auth-token/rotate)"
        digest = hashlib.sha256(value.strip().encode()).hexdigest()
        if not hmac.compare_digest(digest, self.token_hash):
            return "invalid auth token"
        return None

    def redact(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers to store and relay: the credential that authenticated the request is a
        secret, so it never reaches the event log or listeners."""
        if self.kind == "none":
            return headers
        name = "authorization" if self.kind == "basic" else self.header
        if name not in headers:
            return headers
        return {**headers, name: REDACTED}

    def _basic(self, value: str | None) -> str | None:
        if not value or value[:6].lower() != "basic ":
            return "missing basic auth (Authorization: Basic …)"
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return "malformed basic auth header"
        username, sep, password = decoded.partition(b":")
        good_user = hmac.compare_digest(username, self.username)
        good_password = password_matches(password, self.password_hash)
        if not sep or not (good_user and good_password):
            return "wrong basic auth username or password"
        return None


@dataclass(frozen=True, slots=True)
class CompiledSource:
    id: str
    type: str  # the provider whose checks apply (config.provider for generic-webhook)
    config: dict[str, Any]
    methods: frozenset[str]
    auth: AuthCheck
    verifier: verifiers.Verifier | None
    validator: Any  # a jsonschema validator or None
    event_type_path: keypath.KeyPath | None
    route_key_path: keypath.KeyPath | None
    response: FixedResponse
    throttle_limit: int
    throttle_period: float
    max_body_bytes: int
    reply_wait: bool
    reply_timeout: float
    replay_window: float | None  # for providers that sign a timestamp (verifiers.replay_window)
    retention: timedelta  # how long its events are kept
    dedupe: Dedupe | None  # inbound de-duplication, when the source has it
    relay_keys: tuple[bytes, ...] = ()  # sign what is relayed to listeners (relay/signature.py)
    # Set when the request came in on a rotated key that is still in its grace period.
    key_expires_at: datetime | None = None


def compile_source(row: Any, default_retention_days: int) -> CompiledSource:
    settings = SourceSettings.model_validate(row.settings or {}, context=STORED)
    auth = settings.auth
    if auth.type == "basic":
        stored = stored_password_hash((row.settings or {}).get("auth") or {})
        check = AuthCheck("basic", username=auth.username.encode(), password_hash=stored)
    elif auth.type in ("bearer", "header"):
        header = "authorization" if auth.type == "bearer" else auth.header.lower()
        check = AuthCheck(auth.type, header=header, token_hash=row.auth_token_hash)
    else:
        check = AuthCheck("none")
    validator = None
    if settings.schema_ is not None:
        validator_class = jsonschema.validators.validator_for(settings.schema_)
        validator = validator_class(settings.schema_, format_checker=validator_class.FORMAT_CHECKER)
    provider = verifiers.provider_of(row.type, row.config or {})
    verifier = verifiers.module_for(provider)
    return CompiledSource(
        id=row.id,
        type=provider,
        config=dict(row.config or {}),
        methods=frozenset(settings.methods),
        auth=check,
        verifier=verifier,
        validator=validator,
        event_type_path=keypath.parse(settings.event_type_from) if settings.event_type_from else None,
        route_key_path=keypath.parse(settings.route_key_path) if settings.route_key_path else None,
        response=_fixed_response(provider, settings),
        throttle_limit=settings.throttle.limit,
        throttle_period=settings.throttle.period_seconds,
        max_body_bytes=settings.max_body_bytes,
        reply_wait=settings.reply.wait,
        reply_timeout=settings.reply.timeout_seconds,
        replay_window=verifiers.replay_window(verifier, settings.replay_window_seconds),
        retention=timedelta(days=settings.retention_days or default_retention_days),
        dedupe=None
        if settings.dedupe is None
        else compile_dedupe(
            settings.dedupe.key_from, settings.dedupe.window_seconds, dedupe_paths(row.type, row.config or {})
        ),
        relay_keys=relay_keys(row.relay_secret, row.previous_relay_secrets, utcnow()),
    )


def dedupe_paths(source_type: str, config: dict[str, Any]) -> tuple[str, ...]:
    """Where a source of this type finds its provider's delivery id (() for none)."""
    provider = verifiers.provider_of(source_type, config)
    return provider_paths(
        provider, svix_scheme=source_type in verifiers.SVIX_TYPES and provider != "generic-webhook"
    )


def _fixed_response(source_type: str, settings: SourceSettings) -> FixedResponse:
    configured = settings.response
    content_type = configured.content_type
    if content_type is not None and fields.media_type_problem(content_type):
        content_type = None  # saved before content types were checked: the default instead
    if configured.status in NO_CONTENT:  # no body, even one saved before that was checked
        body, default = b"", "application/json"
    elif configured.body is None and source_type == "twilio":
        body, default = TWIML_EMPTY, "text/xml"
    elif configured.body is None:
        body, default = b'{"ok":true}', "application/json"
    elif isinstance(configured.body, str):
        body, default = configured.body.encode(), "text/plain; charset=utf-8"
    else:
        body, default = orjson.dumps(configured.body), "application/json"
    return FixedResponse(configured.status, body, (content_type or default).encode())
