"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; no replay window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("github",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "GitHub"
SIGNATURE = "`X-Hub-Signature-256: sha256=<hex>`"
SIGNED = "body"
REQUIRED = ("secret",)
HEADER = CHECK = "x-hub-signature-256"


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    return check_sha256_header(request, config["secret"], HEADER)


def check_sha256_header(request: InboundRequest, secret: str, header: str) -> Verdict:
    given = request.header(header)
    if not given:
        return reject(header, f"missing {header} header")
    expected = "sha256=" + hmac_digest(secret, request.body).hex()
    if not same(given.strip(), expected):
        return reject(header, f"{header} does not match the body")
    return ACCEPT
