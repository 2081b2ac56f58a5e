"""Slack: ``X-Slack-Signature: v0=<hex>`` over ``"v0:{timestamp}:{body}"``; 5 minute window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, verify_v0_timestamped

TYPES = ("slack",)
REQUIRED = ("secret",)
WINDOW_SECONDS = 300


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    return verify_v0_timestamped(
        request,
        config["secret"],
        signature_header="x-slack-signature",
        timestamp_header="x-slack-request-timestamp",
        window_seconds=WINDOW_SECONDS,
    )
