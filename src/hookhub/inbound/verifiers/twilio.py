"""Twilio: ``X-Twilio-Signature``, base64 HMAC-SHA1 (auth token) of the URL plus sorted POST params.

A JSON body is covered instead by the ``bodySHA256`` query parameter (already part of the URL).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("twilio",)
REQUIRED = ("secret",)


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    given = request.header("x-twilio-signature")
    if not given:
        return reject("x-twilio-signature", "missing X-Twilio-Signature header")
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    data = request.url
    if content_type == "application/x-www-form-urlencoded":
        params = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        data += "".join(key + value for key, value in sorted(params))
    elif "bodySHA256" in request.query:
        body_hash = hashlib.sha256(request.body).hexdigest()
        if not same(str(request.query["bodySHA256"]), body_hash):
            return reject("x-twilio-signature", "bodySHA256 does not match the body")
    expected = base64.b64encode(hmac_digest(config["secret"], data.encode(), "sha1")).decode()
    if not same(given.strip(), expected):
        return reject("x-twilio-signature", "X-Twilio-Signature does not match the URL and parameters")
    return ACCEPT
