"""Discord interactions: Ed25519 ``X-Signature-Ed25519`` over timestamp + body (application public
key); 5 minute window on ``X-Signature-Timestamp``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, hex_bytes, reject, signed, unix_time

TYPES = ("discord",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Discord interactions"
SIGNATURE = "`X-Signature-Ed25519` (Ed25519, `X-Signature-Timestamp`)"
SIGNED = "timestamp + body"
HANDSHAKE = 'PING answered with `{"type":1}`'
REQUIRED = ("publicKey",)
CHECK = "x-signature-ed25519"
TIMESTAMP_CHECK = "x-signature-timestamp"
WINDOW_SECONDS = 300
SIGNATURE_BYTES = 64


def check_config(config: Mapping[str, Any]) -> None:
    public_key(config)


def public_key(config: Mapping[str, Any]) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(config["publicKey"]))
    except ValueError as exc:
        raise ValueError("config.publicKey must be the application's hex Ed25519 public key") from exc


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    signature_hex = request.header("x-signature-ed25519")
    timestamp = request.header("x-signature-timestamp")
    if not signature_hex or not timestamp:
        return reject(CHECK, "missing X-Signature-Ed25519 or X-Signature-Timestamp")
    when = unix_time(timestamp)
    if when is None:
        return reject(TIMESTAMP_CHECK, "X-Signature-Timestamp is not a Unix time in seconds")
    signature = hex_bytes(signature_hex, SIGNATURE_BYTES)
    if signature is None:
        return reject(CHECK, f"X-Signature-Ed25519 is not {SIGNATURE_BYTES} bytes in hex")
    try:
        public_key(config).verify(signature, timestamp.encode() + request.body)
    except InvalidSignature:
        return reject(CHECK, "X-Signature-Ed25519 does not match the body")
    # Ed25519 signatures are deterministic (and OpenSSL refuses the malleable form): the bytes
    # name this signed request, whatever the case of the hex.
    return signed(when, signature.hex())
