"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>``.

Signed over the exact body bytes (inbound events may not be UTF-8, which the
``standardwebhooks`` library's ``sign(str)`` cannot express); the tests verify the result
with ``standardwebhooks.Webhook`` and ``svix.webhooks.Webhook``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 24


def generate_secret() -> str:
    """A fresh ``whsec_<base64>`` key (endpoint signing secrets, source relay secrets)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (other strings are used as UTF-8 bytes)."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX) :]
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """Every valid key signs; the signatures are space-separated (rotation)."""
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


def signing_keys(secret: str, previous_secrets: Iterable[Mapping[str, Any]], now: datetime) -> list[bytes]:
    """The current key plus every previous key whose ``expiresAt`` is still in the future."""
    keys = [secret_bytes(secret)]
    for item in previous_secrets or ():
        key, expires = item.get("key"), item.get("expiresAt")
        if not key or not expires:
            continue
        expires_at = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        if expires_at > now:
            keys.append(secret_bytes(key))
    return keys


def previous_after_rotation(
    secret: str, previous_secrets: Iterable[Mapping[str, Any]], grace_seconds: int, now: datetime
) -> list[dict[str, Any]]:
    """The ``previous_secrets`` list once ``secret`` is replaced: the unexpired ones, plus
    ``secret`` itself for ``grace_seconds`` (each ``{"key": "whsec_…", "expiresAt": ISO 8601}``)."""
    live = [dict(item) for item in previous_secrets or () if str(item.get("expiresAt", "")) > now.isoformat()]
    if grace_seconds > 0:
        live.append({"key": secret, "expiresAt": (now + timedelta(seconds=grace_seconds)).isoformat()})
    return live


def signed_headers(
    keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes, *, svix_names: bool
) -> dict[str, str]:
    signature = signature_header(keys, msg_id, timestamp, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    if svix_names:
        headers |= {"svix-id": msg_id, "svix-timestamp": str(timestamp), "svix-signature": signature}
    return headers
