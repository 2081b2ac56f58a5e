"""Discord interactions: Ed25519 ``X-Signature-Ed25519`` over timestamp + body (application public key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookhub.inbound.verifiers.base import ACCEPT, InboundRequest, Verdict, reject

TYPES = ("discord",)
REQUIRED = ("publicKey",)


def check_config(config: Mapping[str, Any]) -> None:
    public_key(config)


def public_key(config: Mapping[str, Any]) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(config["publicKey"]))
    except ValueError as exc:
        raise ValueError("config.publicKey must be the application's hex Ed25519 public key") from exc


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    signature = request.header("x-signature-ed25519")
    timestamp = request.header("x-signature-timestamp")
    if not signature or not timestamp:
        return reject("x-signature-ed25519", "missing X-Signature-Ed25519 or X-Signature-Timestamp")
    try:
        public_key(config).verify(bytes.fromhex(signature), timestamp.encode() + request.body)
    except (ValueError, InvalidSignature):
        return reject("x-signature-ed25519", "X-Signature-Ed25519 does not match the body")
    return ACCEPT
