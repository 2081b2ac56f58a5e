"""Provider signatures, made with the providers' own SDKs or documented vectors.

Each provider: a correctly signed request is stored; a tampered body, a wrong secret and (where the
scheme has one) a stale timestamp answer 401 saying which check failed, and store nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stripe
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator

from tests.inbound.conftest import Sources

BODY = b'{"id": "evt_1", "type": "thing.happened", "amount": 42}'


def assert_rejected(sources: Sources, source: dict, response: httpx.Response, check: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "authentication_failed"
    assert check in response.json()["detail"]
    assert sources.events(source["id"]) == []


def post(
    url: str, body: bytes, headers: dict[str, str], content_type: str = "application/json"
) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": content_type, **headers})


def test_github_documented_vector(sources: Sources) -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    secret, payload = "It's a Secret to Everybody", b"Hello, World!"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    source = sources.create(
        type="github", config={"secret": secret}, settings={"eventTypeFrom": "headers['X-GitHub-Event']"}
    )
    url = source["ingestUrl"]
    headers = {"X-Hub-Signature-256": signature, "X-GitHub-Event": "push"}
    assert_rejected(sources, source, post(url, payload + b"!", headers, "text/plain"), "x-hub-signature-256")
    assert_rejected(sources, source, post(url, payload, {}, "text/plain"), "missing")
    assert post(url, payload, headers, "text/plain").status_code == 200
    [event] = sources.events(source["id"])
    assert event["eventType"] == "push" and event["body"] == "Hello, World!"


def test_meta_signature(sources: Sources) -> None:
    source = sources.create(type="meta", config={"secret": "app-secret", "verifyToken": "vt"})
    signature = "sha256=" + hmac.new(b"app-secret", BODY, hashlib.sha256).hexdigest()
    wrong = "sha256=" + hmac.new(b"other", BODY, hashlib.sha256).hexdigest()
    assert_rejected(sources, source, post(source["ingestUrl"], BODY, {"X-Hub-Signature-256": wrong}), "x-hub")
    assert post(source["ingestUrl"], BODY, {"X-Hub-Signature-256": signature}).status_code == 200


def test_stripe_with_the_stripe_library(sources: Sources) -> None:
    secret = "whsec_test_secret"
    source = sources.create(type="stripe", config={"secret": secret}, settings={"eventTypeFrom": "body.type"})
    url, payload = source["ingestUrl"], BODY.decode()
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    # The header really is Stripe's: the library accepts it.
    stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=300)

    assert_rejected(
        sources,
        source,
        post(url, BODY.replace(b"42", b"43"), {"Stripe-Signature": header}),
        "stripe-signature",
    )
    wrong = stripe.WebhookSignature.generate_signature_header(payload, "whsec_other")
    assert_rejected(sources, source, post(url, BODY, {"Stripe-Signature": wrong}), "stripe-signature")
    stale = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=int(time.time()) - 301
    )
    assert_rejected(sources, source, post(url, BODY, {"Stripe-Signature": stale}), "stripe-timestamp")

    assert post(url, BODY, {"Stripe-Signature": header}).status_code == 200
    [event] = sources.events(source["id"])
    assert event["eventType"] == "thing.happened"


def test_slack_with_slack_sdk(sources: Sources) -> None:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    source = sources.create(type="slack", config={"secret": secret})
    url = source["ingestUrl"]
    verifier = SignatureVerifier(secret)

    def signed(body: bytes, timestamp: int, key: SignatureVerifier = verifier) -> dict[str, str]:
        signature = key.generate_signature(timestamp=str(timestamp), body=body)
        assert signature is not None
        return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}

    now = int(time.time())
    assert_rejected(sources, source, post(url, BODY + b" ", signed(BODY, now)), "x-slack-signature")
    assert_rejected(
        sources, source, post(url, BODY, signed(BODY, now, SignatureVerifier("nope"))), "x-slack-signature"
    )
    assert_rejected(sources, source, post(url, BODY, signed(BODY, now - 301)), "x-slack-request-timestamp")
    assert post(url, BODY, signed(BODY, now)).status_code == 200

    # url_verification is answered with the challenge and not stored.
    challenge = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "token": "x",
        }
    ).encode()
    answer = post(url, challenge, signed(challenge, now))
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert len(sources.events(source["id"])) == 1


def test_twilio_with_request_validator(sources: Sources) -> None:
    auth_token = "12345"
    source = sources.create(type="twilio", config={"secret": auth_token})
    url = source["ingestUrl"] + "/sms?To=%2B15551234567"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
    }
    form = httpx.QueryParams(params).__str__().encode()
    signature = RequestValidator(auth_token).compute_signature(url, params)
    assert RequestValidator(auth_token).validate(url, params, signature)
    form_type = "application/x-www-form-urlencoded"

    tampered = form.replace(b"1234", b"9999")
    assert_rejected(
        sources, source, post(url, tampered, {"X-Twilio-Signature": signature}, form_type), "x-twilio"
    )
    wrong = RequestValidator("other").compute_signature(url, params)
    assert_rejected(sources, source, post(url, form, {"X-Twilio-Signature": wrong}, form_type), "x-twilio")

    response = post(url, form, {"X-Twilio-Signature": signature}, form_type)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_twilio_json_body_is_covered_by_body_sha256(sources: Sources) -> None:
    """A signature over the URL alone says nothing of a JSON body: without ``bodySHA256`` it is refused."""
    auth_token = "12345"
    source = sources.create(type="twilio", config={"secret": auth_token})
    validator = RequestValidator(auth_token)
    url = source["ingestUrl"] + "/events"
    url_only = validator.compute_signature(url, {})
    assert_rejected(sources, source, post(url, BODY, {"X-Twilio-Signature": url_only}), "bodySHA256")

    covered = f"{url}?bodySHA256={hashlib.sha256(BODY).hexdigest()}"
    signature = validator.compute_signature(covered, {})
    assert validator.validate(covered, BODY.decode(), signature)  # Twilio's own check agrees
    other = BODY.replace(b"42", b"43")
    assert_rejected(sources, source, post(covered, other, {"X-Twilio-Signature": signature}), "bodySHA256")
    assert post(covered, BODY, {"X-Twilio-Signature": signature}).status_code == 200
    # A request without a body (Twilio's GET webhooks) is covered by the URL alone.
    query_url = f"{url}?CallSid=CA1&From=%2B15551234567"
    get = httpx.get(query_url, headers={"X-Twilio-Signature": validator.compute_signature(query_url, {})})
    assert get.status_code == 200, get.text
    assert len(sources.events(source["id"])) == 2


def test_shopify_base64_hmac(sources: Sources) -> None:
    source = sources.create(type="shopify", config={"secret": "shpss_secret"})
    good = base64.b64encode(hmac.new(b"shpss_secret", BODY, hashlib.sha256).digest()).decode()
    assert_rejected(
        sources, source, post(source["ingestUrl"], BODY + b"\n", {"X-Shopify-Hmac-Sha256": good}), "x-shopify"
    )
    assert post(source["ingestUrl"], BODY, {"X-Shopify-Hmac-Sha256": good}).status_code == 200


def test_fitbit_signature_and_verification(sources: Sources) -> None:
    source = sources.create(type="fitbit", config={"secret": "client-secret", "verifyCode": "abc123"})
    url = source["ingestUrl"]
    assert httpx.get(url, params={"verify": "abc123"}).status_code == 204
    assert httpx.get(url, params={"verify": "wrong"}).status_code == 404
    good = base64.b64encode(hmac.new(b"client-secret&", BODY, hashlib.sha1).digest()).decode()
    wrong = base64.b64encode(hmac.new(b"client-secret", BODY, hashlib.sha1).digest()).decode()
    assert_rejected(sources, source, post(url, BODY, {"X-Fitbit-Signature": wrong}), "x-fitbit-signature")
    assert post(url, BODY, {"X-Fitbit-Signature": good}).status_code == 200


def test_fitbit_get_without_verify_needs_the_signature(sources: Sources) -> None:
    """Only the ``?verify=`` check is unsigned: any other GET, with whatever body, is not accepted."""
    source = sources.create(type="fitbit", config={"secret": "client-secret", "verifyCode": "abc123"})
    url = source["ingestUrl"]
    unsigned = httpx.request("GET", url, content=BODY, headers={"Content-Type": "application/json"})
    assert_rejected(sources, source, unsigned, "x-fitbit-signature")
    assert_rejected(sources, source, httpx.get(url, params={"action": "x"}), "x-fitbit-signature")
    assert httpx.get(url, params={"verify": "abc123"}).status_code == 204
    assert httpx.get(url, params={"verify": "wrong"}).status_code == 404
    good = base64.b64encode(hmac.new(b"client-secret&", BODY, hashlib.sha1).digest()).decode()
    signed = httpx.request("GET", url, content=BODY, headers={"X-Fitbit-Signature": good})
    assert signed.status_code == 200, signed.text
    assert len(sources.events(source["id"])) == 1


def test_zoom_signature_and_url_validation(sources: Sources) -> None:
    secret = "zoom-secret-token"
    source = sources.create(type="zoom", config={"secret": secret})
    url = source["ingestUrl"]

    def signed(body: bytes, timestamp: int, key: str = secret) -> dict[str, str]:
        digest = hmac.new(key.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        return {"x-zm-request-timestamp": str(timestamp), "x-zm-signature": f"v0={digest}"}

    now = int(time.time())
    assert_rejected(sources, source, post(url, BODY, signed(BODY, now, "wrong")), "x-zm-signature")
    assert_rejected(sources, source, post(url, BODY, signed(BODY, now - 600)), "x-zm-request-timestamp")
    validation = json.dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    ).encode()
    answer = post(url, validation, signed(validation, now))
    assert answer.status_code == 200
    expected = hmac.new(secret.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert post(url, BODY, signed(BODY, now)).status_code == 200
    assert len(sources.events(source["id"])) == 1


def test_discord_ed25519_and_ping(sources: Sources) -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    source = sources.create(type="discord", config={"publicKey": public})
    url = source["ingestUrl"]

    def signed(body: bytes, signer: Ed25519PrivateKey = key) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            "X-Signature-Timestamp": timestamp,
            "X-Signature-Ed25519": signer.sign(timestamp.encode() + body).hex(),
        }

    ping = b'{"type": 1}'
    assert_rejected(
        sources, source, post(url, ping, signed(ping, Ed25519PrivateKey.generate())), "x-signature-ed25519"
    )
    headers = signed(ping)
    assert_rejected(sources, source, post(url, b'{"type": 2}', headers), "x-signature-ed25519")
    answer = post(url, ping, headers)
    assert answer.status_code == 200 and answer.json() == {"type": 1}
    command = b'{"type": 2, "data": {"name": "hello"}}'
    assert post(url, command, signed(command)).status_code == 200
    assert len(sources.events(source["id"])) == 1


@pytest.mark.parametrize("header_prefix", ["webhook", "svix"])
def test_standard_webhooks_library(sources: Sources, header_prefix: str) -> None:
    secret = "whsec_" + base64.b64encode(b"a-32-byte-long-secret-for-tests!").decode()
    source = sources.create(type="svix", config={"secret": secret})
    url = source["ingestUrl"]

    def signed(body: bytes, when: datetime, key: str = secret) -> dict[str, str]:
        signature = Webhook(key).sign("msg_1", when, body.decode())
        names = ("id", "timestamp", "signature")
        values = ("msg_1", str(int(when.timestamp())), signature)
        return {f"{header_prefix}-{name}": value for name, value in zip(names, values, strict=True)}

    now = datetime.now(UTC)
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    assert_rejected(sources, source, post(url, BODY + b" ", signed(BODY, now)), "webhook-signature")
    assert_rejected(sources, source, post(url, BODY, signed(BODY, now, other)), "webhook-signature")
    assert_rejected(
        sources, source, post(url, BODY, signed(BODY, now - timedelta(minutes=10))), "webhook-timestamp"
    )
    assert post(url, BODY, signed(BODY, now)).status_code == 200


@pytest.mark.parametrize(
    ("algorithm", "encoding", "prefix", "digest"),
    [
        ("sha256", "hex", "sha256=", lambda d: d.hex()),
        ("sha1", "base64", "", lambda d: base64.b64encode(d).decode()),
        ("sha512", "hex", "", lambda d: d.hex()),
    ],
)
def test_generic_hmac(sources: Sources, algorithm: str, encoding: str, prefix: str, digest: Callable) -> None:
    config = {
        "secret": "s3cret",
        "header": "X-Signature",
        "algorithm": algorithm,
        "encoding": encoding,
        "prefix": prefix,
    }
    source = sources.create(type="hmac", config=config)
    good = prefix + digest(hmac.new(b"s3cret", BODY, getattr(hashlib, algorithm)).digest())
    wrong = prefix + digest(hmac.new(b"nope", BODY, getattr(hashlib, algorithm)).digest())
    assert_rejected(sources, source, post(source["ingestUrl"], BODY, {"X-Signature": wrong}), "x-signature")
    assert post(source["ingestUrl"], BODY, {"X-Signature": good}).status_code == 200


def test_provider_config_is_checked(api: httpx.Client) -> None:
    missing = api.post("/ingest/api/v1/source", json={"name": "s", "type": "stripe", "config": {}})
    assert missing.status_code == 422 and "secret" in json.dumps(missing.json())
    unknown = api.post("/ingest/api/v1/source", json={"name": "s", "type": "nonsense"})
    assert unknown.status_code == 422
    bad_key = api.post(
        "/ingest/api/v1/source", json={"name": "s", "type": "discord", "config": {"publicKey": "zz"}}
    )
    assert bad_key.status_code == 422
    shown = api.post(
        "/ingest/api/v1/source", json={"name": "s", "type": "stripe", "config": {"secret": "whsec_x"}}
    )
    assert "secret" not in shown.json()["config"]
