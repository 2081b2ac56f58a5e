"""What every provider verifier sees and answers: an ``InboundRequest`` in, a ``Verdict`` out.

Verifiers are pure: no I/O, the clock is ``request.now``. A failed Verdict says which check failed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl


@dataclass(slots=True)
class InboundRequest:
    method: str
    url: str  # as the sender addressed it: public base URL + path + query
    path: str  # the sub-path after the ingest key, without a leading slash
    query_string: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    now: float  # Unix time when the request arrived
    _query: dict[str, Any] | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def query(self) -> dict[str, Any]:
        """Query parameters; a repeated name gives a list."""
        if self._query is None:
            query = self.query_string
            self._query = pairs_to_dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        return self._query


def pairs_to_dict(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            existing = result[key]
            result[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[key] = value
    return result


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    check: str = ""
    detail: str = ""


ACCEPT = Verdict(True)


def reject(check: str, detail: str) -> Verdict:
    return Verdict(False, check, detail)


class Verifier(Protocol):
    def __call__(self, request: InboundRequest, config: Mapping[str, Any]) -> Verdict: ...


def hmac_digest(secret: str | bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def same(a: str | bytes, b: str | bytes) -> bool:
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def within_window(timestamp: str | None, now: float, tolerance: float) -> bool:
    try:
        value = float(timestamp or "")
    except ValueError:
        return False
    return abs(now - value) <= tolerance


def require_secret(config: Mapping[str, Any], key: str = "secret") -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"config.{key} is required for this source type")
    return value


def verify_v0_timestamped(
    request: InboundRequest,
    secret: str,
    *,
    signature_header: str,
    timestamp_header: str,
    window_seconds: float,
) -> Verdict:
    """The scheme Slack and Zoom share: ``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``."""
    timestamp = request.header(timestamp_header)
    signature = request.header(signature_header)
    if not timestamp or not signature:
        return reject(signature_header, f"missing {signature_header} or {timestamp_header}")
    if not within_window(timestamp, request.now, window_seconds):
        return reject(timestamp_header, f"timestamp is outside the {window_seconds:g} second window")
    expected = "v0=" + hmac_digest(secret, b"v0:" + timestamp.encode() + b":" + request.body).hex()
    if not same(signature, expected):
        return reject(signature_header, f"{signature_header} does not match the body")
    return ACCEPT
