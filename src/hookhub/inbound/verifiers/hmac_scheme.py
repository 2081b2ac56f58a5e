"""One verifier for every provider whose signature is an HMAC variant, driven by a ``Scheme``.

A scheme says which header carries the signature, what is signed (a template over the body, the
signed timestamp, the URL, the method and other headers), the algorithm, the encoding, a prefix,
and where the signed timestamp comes from and how far it may be from now. ``providers.py`` holds
the table; ``HmacVerifier`` gives each row the interface ``verifiers.run`` expects of a module.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from hookhub.inbound.verifiers.base import (
    ACCEPT,
    InboundRequest,
    Verdict,
    hmac_digest,
    reject,
    same,
    signed,
    unix_time,
)

Algorithm = Literal["sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64", "token"]  # token: the secret itself, sent as is
TimeFormat = Literal["unix", "unix-ms", "rfc3339"]
_PART = re.compile(r"\{([a-z]+)(?::([A-Za-z0-9-]+))?\}")
_PARTS = frozenset({"body", "timestamp", "url", "method", "header"})
_MAX_ITEMS = 20  # signatures a header may list (rotation sends two or three)


@dataclass(frozen=True, slots=True)
class Scheme:
    """How one provider signs. Header names are as the provider documents them."""

    type: str  # the source type
    title: str
    header: str  # carries the signature
    docs: str  # where the provider documents the scheme (and shows the secret)
    signed: str = "{body}"  # {body} {timestamp} {url} {method} {header:Name}; the rest is literal
    algorithm: Algorithm = "sha256"
    encoding: Encoding = "hex"
    prefix: str = ""  # before the encoded MAC, in the header or in its signature items
    # A header listing several items: ``separator`` splits them; with ``signature_key`` they are
    # ``key=value`` pairs (Stripe-style ``t=…,v1=…``), otherwise each is a prefixed signature.
    separator: str | None = None
    signature_key: str | None = None
    timestamp_key: str | None = None  # the signed timestamp as an item of the signature header
    timestamp_header: str | None = None  # … or in a header of its own
    timestamp_field: str | None = None  # … or a top-level field of the (signed) JSON body
    timestamp_format: TimeFormat = "unix"
    window: int | None = None  # seconds a signed timestamp may be from now (the provider's)
    window_note: str = ""  # where the window comes from when the provider states none
    handshake: str = ""  # what the provider sends to check the URL (docs only, for now)
    other_headers: tuple[str, ...] = ()  # further headers that may carry a signature (key rotation)
    url_decoded: str = ""  # characters whose %XX form {url} shows decoded (HubSpot's rule)
    _parts: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts: list[tuple[str, str]] = []
        position = 0
        for match in _PART.finditer(self.signed):
            if match.start() > position:
                parts.append(("literal", self.signed[position : match.start()]))
            name, argument = match.group(1), match.group(2) or ""
            if name not in _PARTS or (name == "header") != bool(argument):
                raise ValueError(f"{self.type}: unknown part {match.group(0)} in {self.signed!r}")
            parts.append((name, argument.lower()))
            position = match.end()
        if position < len(self.signed):
            parts.append(("literal", self.signed[position:]))
        outside = self.timestamp_key is not None or self.timestamp_header is not None
        if outside != (("timestamp", "") in parts):
            raise ValueError(f"{self.type}: a timestamp must be both read and signed")
        if (outside or self.timestamp_field is not None) != (self.window is not None):
            raise ValueError(f"{self.type}: a window goes with a signed timestamp, and only with one")
        if self.timestamp_field is not None and ("body", "") not in parts:
            raise ValueError(f"{self.type}: a timestamp in the body needs the body signed")
        object.__setattr__(self, "_parts", tuple(parts))

    @property
    def parts(self) -> tuple[tuple[str, str], ...]:
        return self._parts

    @property
    def timestamped(self) -> bool:
        return self.window is not None


class HmacVerifier:
    """A ``Scheme`` with the attributes ``verifiers.run`` and the registry read from a module."""

    REQUIRED = ("secret",)

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        self.TYPES = (scheme.type,)
        self.__name__ = f"{__name__}.{scheme.type}"
        self.CHECK = scheme.header.lower()
        if scheme.timestamp_header is not None:
            self.TIMESTAMP_CHECK = scheme.timestamp_header.lower()
        else:
            self.TIMESTAMP_CHECK = f"{scheme.type}-timestamp"
        self.WINDOW_SECONDS = scheme.window
        self.TITLE = scheme.title
        self.SIGNATURE = _signature_doc(scheme)
        self.SIGNED = _signed_doc(scheme)
        self.HANDSHAKE = scheme.handshake
        self.DOCS = scheme.docs
        # Headers that carry the secret itself: never stored or relayed.
        self.SECRET_HEADERS = (self.CHECK,) if scheme.encoding == "token" else ()

    def __repr__(self) -> str:
        return f"HmacVerifier({self.scheme.type})"

    def verify(self, request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
        scheme = self.scheme
        headers = [request.header(scheme.header)] + [request.header(name) for name in scheme.other_headers]
        values = [value for value in headers if value]
        if not values:
            return reject(self.CHECK, f"missing {scheme.header} header")
        given: list[str] = []
        stamp: str | None = None
        for value in values:
            items = _items(value, scheme)
            if items is None:
                return reject(self.CHECK, f"{scheme.header} is not in the form {_shape(scheme)}")
            found, item_stamp = items
            if item_stamp is not None:
                if stamp is not None and item_stamp != stamp:
                    return reject(self.CHECK, f"{scheme.header} carries more than one timestamp")
                stamp = item_stamp
            given += found
        if not given:
            return reject(self.CHECK, f"{scheme.header} carries no signature")
        if scheme.encoding == "token":  # no MAC: the header carries the secret itself
            if not any(same(item, config["secret"]) for item in given):
                return reject(self.CHECK, f"{scheme.header} is not this source's secret")
            return ACCEPT
        when: float | None = None
        if scheme.timestamped:
            if scheme.timestamp_header is not None:
                stamp = request.header(scheme.timestamp_header)
            elif scheme.timestamp_field is not None:
                stamp = _body_field(request.body, scheme.timestamp_field)
            if not stamp:
                return reject(self.CHECK, f"missing the signed timestamp ({self.TIMESTAMP_CHECK})")
            when = parse_time(stamp, scheme.timestamp_format)
            if when is None:
                return reject(self.TIMESTAMP_CHECK, f"the signed timestamp is not {_time_shape(scheme)}")
        message = signed_content(scheme, request, stamp or "")
        if message is None:
            return reject(self.CHECK, "a signed header is missing")
        mac = hmac_digest(config["secret"], message, scheme.algorithm)
        expected = mac.hex() if scheme.encoding == "hex" else base64.b64encode(mac).decode()
        if not any(same(item, expected) for item in given):
            return reject(self.CHECK, f"{scheme.header} does not match the signed request")
        return signed(when, expected) if when is not None else ACCEPT


def _items(value: str, scheme: Scheme) -> tuple[list[str], str | None] | None:
    """The signatures (prefix removed) and the timestamp item a header value carries; None when
    it is malformed."""
    if scheme.separator is None:
        text = value.strip()
        if not text.startswith(scheme.prefix):
            return [], None  # present but not ours: it matches nothing
        return [text[len(scheme.prefix) :]], None
    pieces = value.split(scheme.separator)
    # The providers write these lists without spaces; a repeated header is joined with ", ".
    if len(pieces) > _MAX_ITEMS or len(value.split()) > 1:
        return None
    if scheme.signature_key is None:
        return [piece[len(scheme.prefix) :] for piece in pieces if piece.startswith(scheme.prefix)], None
    signatures: list[str] = []
    stamps: list[str] = []
    for piece in pieces:
        name, equals, item = piece.partition("=")
        if not equals or not name:
            return None
        if name == scheme.signature_key:
            signatures.append(item)
        elif name == scheme.timestamp_key:
            stamps.append(item)
    if len(stamps) > 1:  # which time would the MAC cover?
        return None
    return signatures, stamps[0] if stamps else None


def _body_field(body: bytes, name: str) -> str | None:
    """A top-level integer field of a JSON object body, as text; None when there is none."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = document.get(name) if isinstance(document, dict) else None
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def parse_time(text: str, form: TimeFormat) -> float | None:
    """Unix seconds of a signed timestamp as the provider writes it, or None."""
    if form == "unix":
        seconds = unix_time(text)
        return None if seconds is None else float(seconds)
    if form == "unix-ms":
        if len(text) > 15 or not text.isascii() or not text.isdigit():
            return None
        return int(text) / 1000
    # RFC 3339; Python reads at most 6 fractional digits, Twitch sends 9.
    if len(text) > 40 or not text.isascii():
        return None
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        return None
    fraction = (match.group(2) or "")[:7]
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        return datetime.fromisoformat(match.group(1) + fraction + zone).timestamp()
    except ValueError:
        return None


def signed_content(scheme: Scheme, request: InboundRequest, stamp: str) -> bytes | None:
    """The bytes the provider signed; None when a signed header is missing."""
    out = bytearray()
    for name, argument in scheme.parts:
        if name == "body":
            out += request.body
        elif name == "timestamp":
            out += stamp.encode("latin-1", "replace")
        elif name == "url":
            url = request.url
            for character in scheme.url_decoded:
                escaped = f"%{ord(character):02X}"
                url = url.replace(escaped, character).replace(escaped.lower(), character)
            out += url.encode("latin-1", "replace")
        elif name == "method":
            out += request.method.encode()
        elif name == "header":
            value = request.header(argument)
            if value is None:
                return None
            out += value.encode("latin-1", "replace")
        else:  # literal text between the parts
            out += argument.encode()
    return bytes(out)


def _shape(scheme: Scheme) -> str:
    if scheme.signature_key is not None:
        parts = [f"{scheme.timestamp_key}=…"] if scheme.timestamp_key else []
        return (scheme.separator or ",").join([*parts, f"{scheme.signature_key}=…"])
    return f"{scheme.prefix}<{scheme.encoding}>"


def _time_shape(scheme: Scheme) -> str:
    return {
        "unix": "a Unix time in seconds",
        "unix-ms": "a Unix time in milliseconds",
        "rfc3339": "an RFC 3339 time",
    }[scheme.timestamp_format]


def _signature_doc(scheme: Scheme) -> str:
    """The signature header as the provider table shows it."""
    if scheme.encoding == "token":
        return f"`{scheme.header}`: the secret itself"
    mac = f"{scheme.encoding} HMAC-{scheme.algorithm.upper()}"
    if scheme.signature_key is not None:
        shape = f"`{scheme.header}: {_shape(scheme)}` ({mac})"
    else:
        shape = f"`{scheme.header}: {scheme.prefix}<{scheme.encoding}>` ({mac})"
        if scheme.separator is not None:
            shape += f", `{scheme.separator}`-separated when several keys sign"
    if scheme.other_headers:
        shape += f", or `{scheme.other_headers[0]}`…`{scheme.other_headers[-1]}`"
    if scheme.timestamp_header is not None:
        shape += f" (`{scheme.timestamp_header}`)"
    return shape


def _signed_doc(scheme: Scheme) -> str:
    words = {"body": "body", "timestamp": "timestamp", "url": "URL", "method": "method"}
    shown = []
    for name, argument in scheme.parts:
        if name == "literal" or name == "header":
            shown.append(f"`{argument}`")
        else:
            shown.append(words[name])
    text = " + ".join(shown) if scheme.encoding != "token" else "—"
    if scheme.timestamp_field is not None:
        text += f" (its `{scheme.timestamp_field}` is the signed time)"
    return text
