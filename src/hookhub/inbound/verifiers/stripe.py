"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`` over ``"{t}.{body}"``; 300 s tolerance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("stripe",)
REQUIRED = ("secret",)
TOLERANCE_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    header = request.header("stripe-signature")
    if not header:
        return reject("stripe-signature", "missing Stripe-Signature header")
    timestamp = ""
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    if not timestamp.isdigit() or not signatures:
        return reject("stripe-signature", "Stripe-Signature needs t= and v1= elements")
    tolerance = float(config.get("toleranceSeconds", TOLERANCE_SECONDS))
    if abs(request.now - int(timestamp)) > tolerance:
        return reject("stripe-timestamp", f"timestamp is outside the {tolerance:g} s tolerance")
    expected = hmac_digest(config["secret"], timestamp.encode() + b"." + request.body).hex()
    if not any(same(signature, expected) for signature in signatures):
        return reject("stripe-signature", "no v1 signature matches the body")
    return ACCEPT
