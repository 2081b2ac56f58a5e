"""Generic HMAC: any header, sha1/sha256/sha512, hex or base64, optional prefix (``sha256=``).

config: ``{"secret", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex", "prefix": ""}``
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, hmac_digest, reject, same

TYPES = ("hmac",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Any HMAC (configured)"
SIGNATURE = "`config.header`: `config.prefix` + hex or base64 HMAC (`config.algorithm`)"
SIGNED = "body"
REQUIRED = ("secret", "header")
CHECK = "hmac-signature"  # when the configured header cannot be named
ALGORITHMS = ("sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64")


def check_config(config: Mapping[str, Any]) -> None:
    if config.get("algorithm", "sha256") not in ALGORITHMS:
        raise ValueError(f"config.algorithm must be one of {', '.join(ALGORITHMS)}")
    if config.get("encoding", "hex") not in ENCODINGS:
        raise ValueError(f"config.encoding must be one of {', '.join(ENCODINGS)}")
    if not isinstance(config.get("prefix", ""), str):
        raise ValueError("config.prefix must be a string")


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    header = str(config["header"]).lower()
    given = request.header(header)
    if not given:
        return reject(header, f"missing {header} header")
    digest = hmac_digest(config["secret"], request.body, config.get("algorithm", "sha256"))
    encoded = digest.hex() if config.get("encoding", "hex") == "hex" else base64.b64encode(digest).decode()
    if not same(given.strip(), config.get("prefix", "") + encoded):
        return reject(header, f"{header} does not match the body")
    return ACCEPT
