"""A correctly signed request for every verifier, made with the provider's own SDK where it has one
(stripe, slack-sdk, twilio, standardwebhooks, svix), else as the provider documents it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import stripe
import svix.webhooks
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator

from hookhub.inbound.verifiers import REGISTRY
from tests.inbound.alexa_pki import PKI, envelope

SECRET = "s3cret-for-tests"
WHSEC = "whsec_" + base64.b64encode(b"a-32-byte-long-secret-for-tests!").decode()


def fresh_body(when: int) -> bytes:
    """A JSON body of its own, so that two signed requests never repeat each other by chance."""
    return json.dumps({"id": "evt_" + secrets.token_hex(8), "type": "thing.happened", "amount": 42}).encode()


@dataclass
class Signed:
    url: str
    body: bytes
    headers: dict[str, str]  # the signature headers, and Content-Type


@dataclass
class Signer:
    config: dict[str, str]
    headers: tuple[str, ...]  # the headers that carry the signature
    sign: Callable[[str, int, bytes], Signed]  # ingest URL, Unix time, body
    timestamped: bool = False
    body: Callable[[int], bytes] = field(default=fresh_body)
    covers_body: bool = True  # False for a token sent as is (GitLab): any body passes with it

    def signed(self, url: str, when: int, body: bytes | None = None) -> Signed:
        return self.sign(url, when, self.body(when) if body is None else body)


def _json(url: str, body: bytes, headers: dict[str, str]) -> Signed:
    return Signed(url, body, {"Content-Type": "application/json", **headers})


def _hex_hmac(header: str, prefix: str = "") -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return _json(url, body, {header: prefix + digest})

    return Signer({"secret": SECRET}, (header,), sign)


def github() -> Signer:
    return _hex_hmac("X-Hub-Signature-256", "sha256=")


def generic_hmac() -> Signer:
    signer = _hex_hmac("X-Signature")
    signer.config = {"secret": SECRET, "header": "X-Signature"}
    return signer


def shopify() -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        return _json(url, body, {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()})

    return Signer({"secret": SECRET}, ("X-Shopify-Hmac-Sha256",), sign)


def fitbit() -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        digest = hmac.new(SECRET.encode() + b"&", body, hashlib.sha1).digest()
        return _json(url, body, {"X-Fitbit-Signature": base64.b64encode(digest).decode()})

    return Signer({"secret": SECRET, "verifyCode": "abc123"}, ("X-Fitbit-Signature",), sign)


def twilio() -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        # A JSON body: covered by bodySHA256 in the signed URL, as Twilio sends it.
        signed_url = f"{url}?bodySHA256={hashlib.sha256(body).hexdigest()}"
        signature = RequestValidator(SECRET).compute_signature(signed_url, {})
        assert RequestValidator(SECRET).validate(signed_url, body.decode(), signature)
        return _json(signed_url, body, {"X-Twilio-Signature": signature})

    return Signer({"secret": SECRET}, ("X-Twilio-Signature",), sign)


def stripe_signer() -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), WHSEC, timestamp=when)
        return _json(url, body, {"Stripe-Signature": header})

    return Signer({"secret": WHSEC}, ("Stripe-Signature",), sign, timestamped=True)


def slack() -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=str(when), body=body)
        assert signature is not None
        return _json(url, body, {"X-Slack-Request-Timestamp": str(when), "X-Slack-Signature": signature})

    headers = ("X-Slack-Request-Timestamp", "X-Slack-Signature")
    return Signer({"secret": SECRET}, headers, sign, timestamped=True)


def zoom() -> Signer:
    def sign(url: str, when: int, body: bytes) -> Signed:
        digest = hmac.new(SECRET.encode(), f"v0:{when}:".encode() + body, hashlib.sha256).hexdigest()
        return _json(url, body, {"x-zm-request-timestamp": str(when), "x-zm-signature": f"v0={digest}"})

    return Signer({"secret": SECRET}, ("x-zm-request-timestamp", "x-zm-signature"), sign, timestamped=True)


def discord() -> Signer:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(url: str, when: int, body: bytes) -> Signed:
        signature = key.sign(str(when).encode() + body).hex()
        return _json(url, body, {"X-Signature-Timestamp": str(when), "X-Signature-Ed25519": signature})

    headers = ("X-Signature-Timestamp", "X-Signature-Ed25519")
    return Signer({"publicKey": public}, headers, sign, timestamped=True)


def sendgrid() -> Signer:
    """ECDSA P-256 over timestamp + body, the key shown as base64 DER, as SendGrid's docs say."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))

    def sign(url: str, when: int, body: bytes) -> Signed:
        signature = key.sign(str(when).encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "X-Twilio-Email-Event-Webhook-Timestamp": str(when),
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        }
        return _json(url, body, headers)

    names = ("X-Twilio-Email-Event-Webhook-Timestamp", "X-Twilio-Email-Event-Webhook-Signature")
    return Signer({"publicKey": public.decode()}, names, sign, timestamped=True)


def standard(prefix: str) -> Signer:
    """``webhook-*`` headers signed by the standardwebhooks library, ``svix-*`` by the svix SDK."""
    sdk = Webhook(WHSEC) if prefix == "webhook" else svix.webhooks.Webhook(WHSEC)

    def sign(url: str, when: int, body: bytes) -> Signed:
        msg_id = "msg_" + secrets.token_hex(8)
        signature = sdk.sign(msg_id, datetime.fromtimestamp(when, UTC), body.decode())
        values = {"id": msg_id, "timestamp": str(when), "signature": signature}
        return _json(url, body, {f"{prefix}-{name}": value for name, value in values.items()})

    names = tuple(f"{prefix}-{name}" for name in ("id", "timestamp", "signature"))
    return Signer({"secret": WHSEC}, names, sign, timestamped=True)


def alexa(pki: PKI, cert_server: str) -> Signer:
    from cryptography.hazmat.primitives import serialization

    trust = pki.root.public_bytes(serialization.Encoding.PEM).decode()

    def sign(url: str, when: int, body: bytes) -> Signed:
        return _json(
            url,
            body,
            {"SignatureCertChainUrl": f"{cert_server}/echo.api/good.pem", "Signature-256": pki.sign(body)},
        )

    def body(when: int) -> bytes:
        request_id = "amzn1.echo-api.request." + secrets.token_hex(8)
        return envelope(datetime.fromtimestamp(when, UTC), request_id)

    config = {"trustAnchors": trust, "certUrlPrefix": f"{cert_server}/echo.api/"}
    return Signer(config, ("SignatureCertChainUrl", "Signature-256"), sign, timestamped=True, body=body)


def signer_for(source_type: str, pki: PKI, cert_server: str) -> Signer:
    """The signer for any type the registry knows."""
    from tests.inbound.provider_recipes import RECIPES

    if source_type in RECIPES:
        return RECIPES[source_type]()
    module = REGISTRY[source_type].__name__.rsplit(".", 1)[-1]
    makers: dict[str, Callable[[], Signer]] = {
        "github": github,
        "meta": github,
        "hmac_generic": generic_hmac,
        "shopify": shopify,
        "fitbit": fitbit,
        "twilio": twilio,
        "stripe": stripe_signer,
        "slack": slack,
        "zoom": zoom,
        "discord": discord,
        "sendgrid": sendgrid,
        "standard": lambda: standard("webhook" if source_type == "standard-webhooks" else "svix"),
        "alexa": lambda: alexa(pki, cert_server),
    }
    return makers[module]()


TIMESTAMPED_TYPES = (
    *("stripe", "slack", "zoom", "discord", "svix", "standard-webhooks", "alexa"),
    *("box", "calendly", "hubspot", "linear", "paddle", "twitch", "sendgrid"),
)
