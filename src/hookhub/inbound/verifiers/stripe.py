"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`` over ``"{t}.{body}"``; 300 s tolerance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import (
    InboundRequest,
    Verdict,
    hmac_digest,
    reject,
    same,
    signed,
    unix_time,
)

TYPES = ("stripe",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Stripe"
SIGNATURE = "`Stripe-Signature: t=…,v1=<hex>`"
SIGNED = "timestamp `.` body"
REQUIRED = ("secret",)
CHECK = "stripe-signature"
TIMESTAMP_CHECK = "stripe-timestamp"
WINDOW_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    header = request.header("stripe-signature")
    if not header:
        return reject(CHECK, "missing Stripe-Signature header")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        name, equals, value = item.strip().partition("=")
        if not name or not equals or "=" in value:  # as Stripe's library, which cannot parse it
            return reject(CHECK, "Stripe-Signature must be comma-separated name=value elements")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value)
    # More than one t= is a repeated header (joined with ", "): which time would the MAC cover?
    if len(timestamps) != 1 or not signatures:
        return reject(CHECK, "Stripe-Signature needs one t= and at least one v1= element")
    when = unix_time(timestamps[0])
    if when is None:
        return reject(TIMESTAMP_CHECK, "t= is not a Unix time in seconds")
    expected = hmac_digest(config["secret"], timestamps[0].encode() + b"." + request.body).hex()
    if not any(same(signature, expected) for signature in signatures):
        return reject(CHECK, "no v1 signature matches the body")
    return signed(when, expected)
