"""Standard Webhooks / Svix: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``
(or the ``svix-*`` names): ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, space-separated
when several keys sign; 5 minute window.

Checked here rather than by ``standardwebhooks.Webhook.verify``, which reads the wall clock with a
fixed 5 minute tolerance (a source's window is a setting) and raises ValueError, binascii.Error or
UnicodeDecodeError on a malformed signature list or a body that is not UTF-8. The secret is read
as that library reads it; the tests sign with it and with the svix SDK.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, hmac_digest, reject, signed, unix_time

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
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Svix / Standard Webhooks"
SIGNATURE = "`webhook-signature` or `svix-signature`: `v1,<base64>` items"
SIGNED = "id `.` timestamp `.` body"
REQUIRED = ("secret",)
CHECK = "webhook-signature"
TIMESTAMP_CHECK = "webhook-timestamp"
WINDOW_SECONDS = 300
SECRET_PREFIX = "whsec_"


def check_config(config: Mapping[str, Any]) -> None:
    try:
        signing_key(config["secret"])
    except ValueError as exc:
        raise ValueError("config.secret must be a base64 secret, optionally prefixed with whsec_") from exc


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (unpadded base64 allowed, as the library allows)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")
    if not key:
        raise ValueError("the secret is empty")
    return key


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    values = []
    for name in ("id", "timestamp", "signature"):
        value = request.header(f"webhook-{name}") or request.header(f"svix-{name}")
        if not value:
            return reject(CHECK, f"missing webhook-{name} (or svix-{name}) header")
        values.append(value)
    msg_id, timestamp, signature_list = values
    when = unix_time(timestamp)
    if when is None:
        return reject(TIMESTAMP_CHECK, "webhook-timestamp is not a Unix time in seconds")
    given = _signatures(signature_list)
    if given is None:
        return reject(CHECK, "webhook-signature must be space-separated <version>,<base64> items")
    # Header values arrive as latin-1 text: encoding them back gives the bytes the sender signed.
    signed_content = f"{msg_id}.{timestamp}.".encode("latin-1", "replace") + request.body
    expected = hmac_digest(signing_key(config["secret"]), signed_content)
    if not any(hmac.compare_digest(signature, expected) for signature in given):
        return reject(CHECK, "no v1 signature matches the body")
    return signed(when, f"{msg_id}.{timestamp}")


def _signatures(header: str) -> list[bytes] | None:
    """The v1 signatures of the header; None when an item is malformed (a repeated header, joined
    with ", ", is one of those)."""
    found = []
    for item in header.split():
        version, comma, value = item.partition(",")
        if not version or not comma or not value:
            return None
        if version != "v1":
            continue  # another scheme (v1a: asymmetric): not ours to check
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            return None
    return found
