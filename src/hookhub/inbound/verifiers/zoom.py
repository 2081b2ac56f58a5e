"""Zoom: ``x-zm-signature: v0=<hex>`` over ``"v0:{x-zm-request-timestamp}:{body}"``; 5 minute window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, verify_v0_timestamped

TYPES = ("zoom",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Zoom"
SIGNATURE = "`x-zm-signature: v0=<hex>` (`x-zm-request-timestamp`)"
SIGNED = "`v0:` timestamp `:` body"
HANDSHAKE = "`endpoint.url_validation` → `encryptedToken`"
REQUIRED = ("secret",)
CHECK = "x-zm-signature"
TIMESTAMP_CHECK = "x-zm-request-timestamp"
WINDOW_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    return verify_v0_timestamped(
        request, config["secret"], signature_header=CHECK, timestamp_header=TIMESTAMP_CHECK
    )
