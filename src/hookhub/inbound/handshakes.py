"""Provider handshakes: requests a provider sends to check the URL, answered without storing.

``before_auth`` runs before any credential check (Meta's, Fitbit's and Dropbox's GET checks carry
none); ``after_verify`` runs once the request's signature has been verified (Slack, Zoom, Discord
and Twitch sign their checks).
"""

from __future__ import annotations

from typing import Any

import orjson

from hookhub.errors import BadRequest, Forbidden, NotFound
from hookhub.inbound.answer import Answer, error_answer
from hookhub.inbound.compiled import CompiledSource
from hookhub.inbound.verifiers.base import InboundRequest, hmac_digest, same

_NO_PLAIN_TOKEN = "Zoom's endpoint.url_validation needs payload.plainToken, a string"
MAX_CHALLENGE = 1024


def before_auth(source: CompiledSource, request: InboundRequest) -> Answer | None:
    if request.method != "GET":
        return None
    if source.type == "meta" and request.query.get("hub.mode") == "subscribe":
        expected = source.config.get("verifyToken")
        given = request.query.get("hub.verify_token")
        if isinstance(expected, str) and expected and isinstance(given, str) and same(given, expected):
            challenge = str(request.query.get("hub.challenge", "")).encode()
            return Answer(200, challenge, b"text/plain; charset=utf-8")  # an echo: typed, never sniffed
        return error_answer(Forbidden("hub.verify_token does not match this source's verifyToken"))
    if source.type == "fitbit" and "verify" in request.query:
        expected = source.config.get("verifyCode")
        given = request.query.get("verify")
        if isinstance(expected, str) and expected and isinstance(given, str) and same(given, expected):
            return Answer(204, b"")
        return error_answer(NotFound("Fitbit verification code does not match"))
    if source.type == "dropbox" and "challenge" in request.query:
        # Dropbox's check is unsigned: the challenge is echoed as typed plain text (never sniffed,
        # sandboxed like every answer here), bounded so the URL cannot be made to serve a page.
        challenge = request.query.get("challenge")
        if not isinstance(challenge, str) or not 0 < len(challenge) <= MAX_CHALLENGE:
            return error_answer(BadRequest(f"challenge must be one value of 1 to {MAX_CHALLENGE} characters"))
        return Answer(200, challenge.encode(), b"text/plain; charset=utf-8")
    return None


def after_verify(source: CompiledSource, payload: Any, request: InboundRequest) -> Answer | None:
    if not isinstance(payload, dict):
        return None
    if (
        source.type == "twitch"
        and request.header("twitch-eventsub-message-type") == "webhook_callback_verification"
        and isinstance(payload.get("challenge"), str)
    ):
        return Answer(200, payload["challenge"].encode(), b"text/plain; charset=utf-8")
    if source.type == "slack" and payload.get("type") == "url_verification":
        return Answer(200, orjson.dumps({"challenge": payload.get("challenge")}))
    if source.type == "zoom" and payload.get("event") == "endpoint.url_validation":
        inner = payload.get("payload")
        plain = inner.get("plainToken") if isinstance(inner, dict) else None
        if not isinstance(plain, str):
            return error_answer(BadRequest(_NO_PLAIN_TOKEN))
        encrypted = hmac_digest(source.config["secret"], plain.encode()).hex()
        return Answer(200, orjson.dumps({"plainToken": plain, "encryptedToken": encrypted}))
    if source.type == "discord" and payload.get("type") == 1:
        return Answer(200, orjson.dumps({"type": 1}))
    return None
