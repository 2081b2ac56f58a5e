"""Correctly signed requests for the providers described as data (``verifiers/providers.py``),
each written out from the provider's documented recipe on its own, never read from that table:
a mistake in the table is then a failing test, not the same mistake twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from tests.inbound.signers import SECRET, Signed, Signer

KEY = SECRET.encode()


def _mac(message: bytes, algorithm: Callable = hashlib.sha256) -> bytes:
    return hmac.new(KEY, message, algorithm).digest()


def _hex(message: bytes, algorithm: Callable = hashlib.sha256) -> str:
    return _mac(message, algorithm).hex()


def _b64(message: bytes, algorithm: Callable = hashlib.sha256) -> str:
    return base64.b64encode(_mac(message, algorithm)).decode()


def _json(url: str, body: bytes, headers: dict[str, str]) -> Signed:
    return Signed(url, body, {"Content-Type": "application/json", **headers})


def _body_only(header: str, sign: Callable[[bytes], str]) -> Callable[[], Signer]:
    """A provider that signs the body alone and sends the signature in one header."""

    def make() -> Signer:
        def signed(url: str, when: int, body: bytes) -> Signed:
            return _json(url, body, {header: sign(body)})

        return Signer({"secret": SECRET}, (header,), signed)

    return make


def box() -> Signer:
    # RFC 3339 with an offset, as Box's example shows; HMAC over the body, then the timestamp.
    def signed(url: str, when: int, body: bytes) -> Signed:
        stamp = datetime.fromtimestamp(when, timezone(timedelta(hours=-7))).isoformat()
        headers = {
            "BOX-DELIVERY-ID": secrets.token_hex(8),
            "BOX-DELIVERY-TIMESTAMP": stamp,
            "BOX-SIGNATURE-PRIMARY": _b64(body + stamp.encode()),
            "BOX-SIGNATURE-VERSION": "1",
            "BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
        }
        return _json(url, body, headers)

    names = ("BOX-DELIVERY-TIMESTAMP", "BOX-SIGNATURE-PRIMARY")
    return Signer({"secret": SECRET}, names, signed, timestamped=True)


def calendly() -> Signer:
    def signed(url: str, when: int, body: bytes) -> Signed:
        signature = _hex(f"{when}.".encode() + body)
        return _json(url, body, {"Calendly-Webhook-Signature": f"t={when},v1={signature}"})

    return Signer({"secret": SECRET}, ("Calendly-Webhook-Signature",), signed, timestamped=True)


def gitlab() -> Signer:
    def signed(url: str, when: int, body: bytes) -> Signed:
        return _json(url, body, {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"})

    return Signer({"secret": SECRET}, ("X-Gitlab-Token",), signed, covers_body=False)


def hubspot() -> Signer:
    # Method + URI (with HubSpot's listed %-escapes decoded) + body + timestamp in milliseconds.
    def signed(url: str, when: int, body: bytes) -> Signed:
        addressed = f"{url}?portal=%3Aeu%2F1%40x"  # sent escaped, signed decoded
        stamp = str(when * 1000 + 123)
        signature = _b64(b"POST" + f"{url}?portal=:eu/1@x".encode() + body + stamp.encode())
        headers = {"X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Signature-v3": signature}
        return _json(addressed, body, headers)

    names = ("X-HubSpot-Request-Timestamp", "X-HubSpot-Signature-v3")
    return Signer({"secret": SECRET}, names, signed, timestamped=True)


def linear() -> Signer:
    # The timestamp is the body's webhookTimestamp (milliseconds), covered by the body's MAC.
    def body(when: int) -> bytes:
        event = {"action": "create", "type": "Issue", "webhookId": secrets.token_hex(8)}
        return json.dumps({**event, "webhookTimestamp": when * 1000}).encode()

    def signed(url: str, when: int, payload: bytes) -> Signed:
        return _json(url, payload, {"Linear-Signature": _hex(payload), "Linear-Event": "Issue"})

    return Signer({"secret": SECRET}, ("Linear-Signature",), signed, timestamped=True, body=body)


def paddle() -> Signer:
    def signed(url: str, when: int, body: bytes) -> Signed:
        return _json(url, body, {"Paddle-Signature": f"ts={when};h1={_hex(f'{when}:'.encode() + body)}"})

    return Signer({"secret": SECRET}, ("Paddle-Signature",), signed, timestamped=True)


def pagerduty() -> Signer:
    # During a secret rotation PagerDuty lists one signature per secret: one of them is ours.
    def signed(url: str, when: int, body: bytes) -> Signed:
        other = hmac.new(b"the-old-secret", body, hashlib.sha256).hexdigest()
        return _json(url, body, {"X-PagerDuty-Signature": f"v1={other},v1={_hex(body)}"})

    return Signer({"secret": SECRET}, ("X-PagerDuty-Signature",), signed)


def square() -> Signer:
    # The notification URL (exactly as subscribed) followed by the body.
    def signed(url: str, when: int, body: bytes) -> Signed:
        return _json(url, body, {"x-square-hmacsha256-signature": _b64(url.encode() + body)})

    return Signer({"secret": SECRET}, ("x-square-hmacsha256-signature",), signed)


def twitch() -> Signer:
    # Message id + timestamp (RFC 3339, nanoseconds) + body, "sha256=" and hex.
    def signed(url: str, when: int, body: bytes) -> Signed:
        message_id = "e76c6bd4-55c9-4987-8304-" + secrets.token_hex(6)
        stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".634234626Z"
        signature = "sha256=" + _hex(message_id.encode() + stamp.encode() + body)
        headers = {
            "Twitch-Eventsub-Message-Id": message_id,
            "Twitch-Eventsub-Message-Timestamp": stamp,
            "Twitch-Eventsub-Message-Signature": signature,
            "Twitch-Eventsub-Message-Type": "notification",
        }
        return _json(url, body, headers)

    names = tuple(f"Twitch-Eventsub-Message-{name}" for name in ("Id", "Timestamp", "Signature"))
    return Signer({"secret": SECRET}, names, signed, timestamped=True)


RECIPES: dict[str, Callable[[], Signer]] = {
    "asana": _body_only("X-Hook-Signature", _hex),
    "bitbucket": _body_only("X-Hub-Signature", lambda body: "sha256=" + _hex(body)),
    "box": box,
    "calendly": calendly,
    "clickup": _body_only("X-Signature", _hex),
    "coinbase-commerce": _body_only("X-CC-Webhook-Signature", _hex),
    "coinify": _body_only("X-Coinify-Webhook-Signature", _hex),
    "datasaur": _body_only("X-Datasaur-Signature", _hex),
    "docusign": _body_only("X-DocuSign-Signature-1", _b64),
    "dropbox": _body_only("X-Dropbox-Signature", _hex),
    "fourthwall": _body_only("X-Fourthwall-Hmac-SHA256", _b64),
    "gitlab": gitlab,
    "hubspot": hubspot,
    "intercom": _body_only("X-Hub-Signature", lambda body: "sha1=" + _hex(body, hashlib.sha1)),
    "lemon-squeezy": _body_only("X-Signature", _hex),
    "linear": linear,
    "oracle-commerce": _body_only("X-Oracle-CC-WebHook-Signature", lambda body: _b64(body, hashlib.sha512)),
    "paddle": paddle,
    "pagerduty": pagerduty,
    "quickbooks": _body_only("intuit-signature", _b64),
    "razorpay": _body_only("X-Razorpay-Signature", _hex),
    "sentry": _body_only("Sentry-Hook-Signature", _hex),
    "square": square,
    "twitch": twitch,
    "typeform": _body_only("Typeform-Signature", lambda body: "sha256=" + _b64(body)),
    "vercel": _body_only("x-vercel-signature", lambda body: _hex(body, hashlib.sha1)),
    "woocommerce": _body_only("X-WC-Webhook-Signature", _b64),
    "xero": _body_only("x-xero-signature", _b64),
}
