"""Slack: ``X-Slack-Signature: v0=<hex>`` over ``"v0:{timestamp}:{body}"``; 5 minute window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import (
    ACCEPT,
    InboundRequest,
    Verdict,
    hmac_digest,
    reject,
    same,
    within_window,
)

TYPES = ("slack",)
REQUIRED = ("secret",)
WINDOW_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    timestamp = request.header("x-slack-request-timestamp")
    signature = request.header("x-slack-signature")
    if not timestamp or not signature:
        return reject("x-slack-signature", "missing X-Slack-Signature or X-Slack-Request-Timestamp")
    if not within_window(timestamp, request.now, WINDOW_SECONDS):
        return reject("x-slack-request-timestamp", "timestamp is outside the 5 minute window")
    base = b"v0:" + timestamp.encode() + b":" + request.body
    expected = "v0=" + hmac_digest(config["secret"], base).hex()
    if not same(signature, expected):
        return reject("x-slack-signature", "X-Slack-Signature does not match the body")
    return ACCEPT
