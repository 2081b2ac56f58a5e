"""SendGrid Event Webhook: ECDSA (P-256, SHA-256) ``X-Twilio-Email-Event-Webhook-Signature``
(base64 DER) over ``X-Twilio-Email-Event-Webhook-Timestamp`` + body, with the public key SendGrid
shows under Mail Settings (base64 DER, or PEM). SendGrid names no window: hookhub's 5 minutes."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, reject, signed, unix_time

TYPES = ("sendgrid",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "SendGrid Event Webhook"
SIGNATURE = (
    "`X-Twilio-Email-Event-Webhook-Signature` (base64 ECDSA P-256, `X-Twilio-Email-Event-Webhook-Timestamp`)"
)
SIGNED = "timestamp + body"
DOCS = "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features"
REQUIRED = ("publicKey",)
CHECK = "x-twilio-email-event-webhook-signature"
TIMESTAMP_CHECK = "x-twilio-email-event-webhook-timestamp"
WINDOW_SECONDS = 300
MAX_SIGNATURE = 200  # a DER P-256 signature is at most 72 bytes; its base64 at most 96 characters


def check_config(config: Mapping[str, Any]) -> None:
    public_key(config)


def public_key(config: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    text = config["publicKey"].strip()
    try:
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode())
        else:
            key = load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ValueError("config.publicKey must be SendGrid's verification key (base64 DER or PEM)") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("config.publicKey must be an ECDSA P-256 key, as SendGrid shows it")
    return key


def verify(request: InboundRequest, config: Mapping[str, Any]) -> Verdict:
    signature_text = request.header(CHECK)
    timestamp = request.header(TIMESTAMP_CHECK)
    if not signature_text or not timestamp:
        return reject(CHECK, "missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp")
    when = unix_time(timestamp)
    if when is None:
        return reject(TIMESTAMP_CHECK, "X-Twilio-Email-Event-Webhook-Timestamp is not a Unix time in seconds")
    if len(signature_text) > MAX_SIGNATURE:
        return reject(CHECK, "X-Twilio-Email-Event-Webhook-Signature is too long")
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError):
        return reject(CHECK, "X-Twilio-Email-Event-Webhook-Signature is not base64")
    content = timestamp.encode() + request.body
    try:
        public_key(config).verify(signature, content, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return reject(CHECK, "X-Twilio-Email-Event-Webhook-Signature does not match the body")
    # ECDSA signatures are randomised and malleable: a replay is the same signed content.
    return signed(when, hashlib.sha256(content).hexdigest())
