"""What every provider verifier sees and answers: an ``InboundRequest`` in, a ``Verdict`` out.

Verifiers are pure: no I/O, the clock is ``request.now``. A failed Verdict says which check failed.
A provider that signs a timestamp reports it (``signed_at``) with a ``replay_key`` that tells one
signed request from another; ``verifiers.run`` checks the window and the pipeline remembers the key.
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
    signed_at: float | None = None  # the signed timestamp (Unix seconds), for the replay window
    replay_key: str | None = None  # what a replay of this request would repeat (not secret)


ACCEPT = Verdict(True)


def reject(check: str, detail: str) -> Verdict:
    return Verdict(False, check, detail)


def signed(signed_at: float, replay_key: str) -> Verdict:
    """A verified request whose signature covers ``signed_at``."""
    return Verdict(True, signed_at=signed_at, replay_key=replay_key)


class Verifier(Protocol):
    def __call__(self, request: InboundRequest, config: Mapping[str, Any]) -> Verdict: ...


def hmac_digest(secret: str | bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def same(a: str | bytes, b: str | bytes) -> bool:
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def unix_time(text: str | None) -> int | None:
    """A Unix time in seconds as providers send it: ASCII digits only (``int`` also reads fullwidth
    digits, ``str.isdigit`` also passes a superscript two, which ``int`` refuses), and few enough
    to be a date (not 400 digits)."""
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def hex_bytes(text: str, size: int) -> bytes | None:
    """``size`` bytes written as hex, or None."""
    if len(text) != 2 * size or not text.isascii():
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


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
) -> Verdict:
    """The scheme Slack and Zoom share: ``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``."""
    timestamp = request.header(timestamp_header)
    signature = request.header(signature_header)
    if not timestamp or not signature:
        return reject(signature_header, f"missing {signature_header} or {timestamp_header}")
    when = unix_time(timestamp)
    if when is None:
        return reject(timestamp_header, f"{timestamp_header} is not a Unix time in seconds")
    expected = "v0=" + hmac_digest(secret, b"v0:" + timestamp.encode() + b":" + request.body).hex()
    if not same(signature, expected):
        return reject(signature_header, f"{signature_header} does not match the body")
    return signed(when, expected)
