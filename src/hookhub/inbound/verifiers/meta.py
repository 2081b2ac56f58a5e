"""Meta / Facebook: ``X-Hub-Signature-256`` with the app secret (GitHub's scheme).

The subscription handshake (``hub.challenge``) is in ``inbound/handshakes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import InboundRequest, Verdict
from hookhub.inbound.verifiers.github import HEADER, check_sha256_header

TYPES = ("meta",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Meta / Facebook"
SIGNATURE = "`X-Hub-Signature-256: sha256=<hex>`"
SIGNED = "body"
HANDSHAKE = "`GET hub.mode=subscribe` → `hub.challenge` when `hub.verify_token` matches"
REQUIRED = ("secret",)
CHECK = HEADER


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    return check_sha256_header(request, config["secret"], HEADER)
