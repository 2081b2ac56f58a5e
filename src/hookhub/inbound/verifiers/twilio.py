"""Twilio: ``X-Twilio-Signature``, base64 HMAC-SHA1 (auth token) of the URL plus sorted POST params.

Any other body (JSON) is covered instead by the ``bodySHA256`` query parameter, which the signed
URL carries, as Twilio's ``RequestValidator`` checks it; a body covered by neither is refused:
the signature of a URL alone says nothing about it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("twilio",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Twilio"
SIGNATURE = "`X-Twilio-Signature` (base64 HMAC-SHA1)"
SIGNED = "URL + sorted form parameters (`bodySHA256` for other bodies)"
REQUIRED = ("secret",)
CHECK = "x-twilio-signature"
BODY_CHECK = "bodySHA256"


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    given = request.header("x-twilio-signature")
    if not given:
        return reject(CHECK, "missing X-Twilio-Signature header")
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    signed_params = ""
    if content_type == "application/x-www-form-urlencoded":
        values: dict[str, set[str]] = {}
        for key, value in parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True):
            values.setdefault(key, set()).add(value)
        signed_params = "".join(key + value for key in sorted(values) for value in sorted(values[key]))
    elif request.body or BODY_CHECK in request.query:
        given_hash = request.query.get(BODY_CHECK)
        if not isinstance(given_hash, str):
            return reject(BODY_CHECK, "a body that is not a form needs one bodySHA256 query parameter")
        if not same(given_hash, hashlib.sha256(request.body).hexdigest()):
            return reject(BODY_CHECK, "bodySHA256 does not match the body")
    # Twilio may sign the URL with or without an explicit port; accept either.
    for url in _url_variants(request.url):
        expected = base64.b64encode(hmac_digest(config["secret"], (url + signed_params).encode(), "sha1"))
        if same(given.strip(), expected.decode()):
            return ACCEPT
    return reject(CHECK, "X-Twilio-Signature does not match the URL and parameters")


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    without = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    with_port = urlunsplit((parts.scheme, f"{host}:{parts.port or default}", parts.path, parts.query, ""))
    return list(dict.fromkeys([url, without, with_port]))
