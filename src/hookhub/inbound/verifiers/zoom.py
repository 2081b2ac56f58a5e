"""Zoom: ``x-zm-signature: v0=<hex>`` over ``"v0:{x-zm-request-timestamp}:{body}"``; 5 minute window."""

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

TYPES = ("zoom",)
REQUIRED = ("secret",)
WINDOW_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    timestamp = request.header("x-zm-request-timestamp")
    signature = request.header("x-zm-signature")
    if not timestamp or not signature:
        return reject("x-zm-signature", "missing x-zm-signature or x-zm-request-timestamp")
    if not within_window(timestamp, request.now, WINDOW_SECONDS):
        return reject("x-zm-request-timestamp", "timestamp is outside the 5 minute window")
    expected = "v0=" + hmac_digest(config["secret"], b"v0:" + timestamp.encode() + b":" + request.body).hex()
    if not same(signature, expected):
        return reject("x-zm-signature", "x-zm-signature does not match the body")
    return ACCEPT
