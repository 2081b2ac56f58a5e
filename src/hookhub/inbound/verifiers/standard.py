"""Standard Webhooks / Svix: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``
(or the ``svix-*`` names), checked by the ``standardwebhooks`` library (5 minute tolerance)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, reject

# Svix-signed providers listed by the Svix Ingest API use the same scheme.
TYPES = (
    "svix",
    "standard-webhooks",
    "beehiiv",
    "brex",
    "clerk",
    "guesty",
    "incident-io",
    "lithic",
    "nash",
    "pleo",
    "psi-fi",
    "replicate",
    "resend",
    "safebase",
    "sardine",
    "stych",
    "open-ai",
    "render",
)
REQUIRED = ("secret",)


def check_config(config: Mapping[str, Any]) -> None:
    try:
        Webhook(config["secret"])
    except Exception as exc:
        raise ValueError("config.secret must be a base64 secret, optionally prefixed with whsec_") from exc


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    headers = {}
    for name in ("id", "timestamp", "signature"):
        value = request.header(f"webhook-{name}") or request.header(f"svix-{name}")
        if not value:
            return reject("webhook-signature", f"missing webhook-{name} (or svix-{name}) header")
        headers[f"webhook-{name}"] = value
    try:
        Webhook(config["secret"]).verify(request.body, headers)
    except WebhookVerificationError as exc:
        check = "webhook-timestamp" if "timestamp" in str(exc).lower() else "webhook-signature"
        return reject(check, str(exc))
    return ACCEPT
