"""Fitbit: ``X-Fitbit-Signature: <base64 HMAC-SHA1(client_secret + "&", body)>``.

The ``GET ?verify=<code>`` subscriber check, the one unsigned request, is answered (204 / 404)
by ``inbound/handshakes.py`` before this runs; every other request, a GET too, must be signed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("fitbit",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Fitbit"
SIGNATURE = "`X-Fitbit-Signature` (base64 HMAC-SHA1, key `secret&`)"
SIGNED = "body"
HANDSHAKE = "`GET ?verify=<code>` → 204 / 404"
REQUIRED = ("secret",)
CHECK = "x-fitbit-signature"


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    given = request.header("x-fitbit-signature")
    if not given:
        return reject("x-fitbit-signature", "missing X-Fitbit-Signature header")
    digest = hmac_digest(config["secret"] + "&", request.body, "sha1")
    if not same(given.strip(), base64.b64encode(digest).decode()):
        return reject("x-fitbit-signature", "X-Fitbit-Signature does not match the body")
    return ACCEPT
