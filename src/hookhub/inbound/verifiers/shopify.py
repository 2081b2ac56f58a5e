"""Shopify: ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>``."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("shopify",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Shopify"
SIGNATURE = "`X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256)"
SIGNED = "body"
REQUIRED = ("secret",)
CHECK = "x-shopify-hmac-sha256"


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    given = request.header("x-shopify-hmac-sha256")
    if not given:
        return reject("x-shopify-hmac-sha256", "missing X-Shopify-Hmac-Sha256 header")
    expected = base64.b64encode(hmac_digest(config["secret"], request.body)).decode()
    if not same(given.strip(), expected):
        return reject("x-shopify-hmac-sha256", "X-Shopify-Hmac-Sha256 does not match the body")
    return ACCEPT
