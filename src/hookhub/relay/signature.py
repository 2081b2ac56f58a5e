"""hookhub's own signature on each event it relays, so a listener's local server can trust it.

Beside the provider's headers and the exact body bytes, every event a listener receives (live, or
resumed from the event log) carries a Standard Webhooks signature under the source's relay secret,
in headers of its own so that a provider's ``webhook-*`` headers (Svix-signed sources) stay as
they came::

    hookhub-webhook-id: evt_…
    hookhub-webhook-timestamp: <Unix seconds, when hookhub sent it>
    hookhub-webhook-signature: v1,<base64> [v1,<base64> …]   (one per live key, during a rotation)

Any Standard Webhooks library verifies them once the names are mapped to ``webhook-*``. A request
whose sender set these headers itself has them replaced.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from hookhub.delivery.signing import signature_header, signing_keys

HEADER_PREFIX = "hookhub-webhook-"
ID_HEADER = HEADER_PREFIX + "id"
TIMESTAMP_HEADER = HEADER_PREFIX + "timestamp"
SIGNATURE_HEADER = HEADER_PREFIX + "signature"


def relay_keys(
    secret: str | None, previous: Iterable[Mapping[str, Any]] | None, now: datetime
) -> tuple[bytes, ...]:
    """The keys that sign a source's relayed events: its relay secret and those still in grace."""
    if not secret:
        return ()
    return tuple(signing_keys(secret, previous or (), now))


def sign_event(
    event: dict[str, Any], body: bytes, keys: Iterable[bytes], timestamp: int | None = None
) -> None:
    """Add the relay signature headers to a listener event (its ``headers``), signed over ``body``,
    the exact bytes received."""
    keys = tuple(keys)
    headers = event.setdefault("headers", {})
    for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        headers.pop(name, None)
    if not keys:
        return
    moment = int(time.time()) if timestamp is None else timestamp
    headers[ID_HEADER] = event["id"]
    headers[TIMESTAMP_HEADER] = str(moment)
    headers[SIGNATURE_HEADER] = signature_header(keys, event["id"], moment, body)
