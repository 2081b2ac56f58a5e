"""Alexa skills: ``Signature-256`` (or legacy ``Signature``) by the certificate at
``SignatureCertChainUrl``, whose chain must reach a trusted root and name ``echo-api.amazon.com``;
the body's ``request.timestamp`` must be within 150 s (Amazon's rule: a source's window may be
shorter, not longer).

Pure: the certificate chain is fetched beforehand (``inbound/alexa_certs.py``) and passed in.
config: ``{"trustAnchors": PEM (default: the certifi bundle), "certUrlPrefix": for private test CAs,
"applicationId": optional skill id to require}``.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError

from hookhub.inbound.verifiers.base import InboundRequest, Verdict, reject, signed

TYPES = ("alexa",)
# What the provider table in docs/sources.md says (verifiers/table.py).
TITLE = "Alexa skills"
SIGNATURE = "`Signature-256` by the certificate at `SignatureCertChainUrl` (RSA)"
SIGNED = "body (its `request.timestamp` is the signed time)"
REQUIRED = ()
CHECK = "alexa-signature"
TIMESTAMP_CHECK = "alexa-timestamp"
WINDOW_SECONDS = MAX_WINDOW_SECONDS = 150
SIGNING_NAME = "echo-api.amazon.com"


def check_config(config: Mapping[str, Any]) -> None:
    if "trustAnchors" in config:
        trust_anchors(config)
    prefix = config.get("certUrlPrefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix.startswith(("http://", "https://"))):
        raise ValueError("config.certUrlPrefix must be an http(s) URL prefix")


def trust_anchors(config: Mapping[str, Any]) -> list[x509.Certificate]:
    pem = config.get("trustAnchors")
    if pem is None:
        import certifi

        with open(certifi.where(), "rb") as handle:
            return x509.load_pem_x509_certificates(handle.read())
    try:
        return x509.load_pem_x509_certificates(str(pem).encode())
    except ValueError as exc:
        raise ValueError("config.trustAnchors must be PEM certificates") from exc


def cert_url_allowed(url: str, config: Mapping[str, Any]) -> bool:
    prefix = config.get("certUrlPrefix")
    if prefix:
        return url.startswith(prefix)
    parts = urlsplit(url)
    return (
        parts.scheme.lower() == "https"
        and (parts.hostname or "").lower() == "s3.amazonaws.com"
        and parts.port in (None, 443)
        and posixpath.normpath(parts.path).startswith("/echo.api/")
    )


def verify(request: InboundRequest, config: Mapping[str, Any], chain_pem: bytes | None = None) -> Verdict:
    url = request.header("signaturecertchainurl")
    signature = request.header("signature-256") or request.header("signature")
    if not url or not signature:
        return reject("alexa-signature", "missing Signature(-256) or SignatureCertChainUrl header")
    if not cert_url_allowed(url, config):
        return reject("alexa-cert-url", "SignatureCertChainUrl is not an Alexa certificate URL")
    if not chain_pem:
        return reject("alexa-cert-chain", "could not fetch the certificate chain")
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        return reject("alexa-cert-chain", "the certificate chain is not PEM")
    now = datetime.fromtimestamp(request.now, UTC)
    try:
        verifier = (
            PolicyBuilder()
            .store(Store(trust_anchors(config)))
            .time(now)
            .build_server_verifier(DNSName(SIGNING_NAME))
        )
        verifier.verify(chain[0], chain[1:])
    except (VerificationError, ValueError) as exc:
        return reject("alexa-cert-chain", f"certificate chain rejected: {exc}")
    public_key = chain[0].public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return reject("alexa-cert-chain", "the signing certificate has no RSA key")
    algorithm = hashes.SHA256() if request.header("signature-256") else hashes.SHA1()
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
        public_key.verify(signature_bytes, request.body, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError):
        return reject(CHECK, "Signature does not match the body")
    return check_body(request.body, config, signature_bytes)


def check_body(body: bytes, config: Mapping[str, Any], signature: bytes) -> Verdict:
    """The signed envelope: its timestamp (the window is checked by ``verifiers.run``) and skill."""
    try:
        envelope = orjson.loads(body)
        stamp = datetime.fromisoformat(str(envelope["request"]["timestamp"]).replace("Z", "+00:00"))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return reject(TIMESTAMP_CHECK, "request.timestamp is missing or not a date")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    wanted = config.get("applicationId")
    if wanted:
        holder = _member(envelope, "session") or _member(envelope, "context", "System")
        if _member(holder, "application", "applicationId") != wanted:
            return reject("alexa-application-id", "the request is for another skill")
    # RSA PKCS#1 v1.5 signatures are deterministic: the bytes name this signed request.
    return signed(stamp.timestamp(), signature.hex())


def _member(document: Any, *names: str) -> Any:
    for name in names:
        if not isinstance(document, dict):
            return None
        document = document.get(name)
    return document
