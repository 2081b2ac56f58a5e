"""Slack: ``X-Slack-Signature: v0=<hex>`` over ``"v0:{timestamp}:{body}"``; 5 minute window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, verify_v0_timestamped

TYPES = ("slack",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Slack"
SIGNATURE = "`X-Slack-Signature: v0=<hex>` (`X-Slack-Request-Timestamp`)"
SIGNED = "`v0:` timestamp `:` body"
HANDSHAKE = "`url_verification` → its challenge"
REQUIRED = ("secret",)
CHECK = "x-slack-signature"
TIMESTAMP_CHECK = "x-slack-request-timestamp"
WINDOW_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    return verify_v0_timestamped(
        request, config["secret"], signature_header=CHECK, timestamp_header=TIMESTAMP_CHECK
    )
