"""Every provider type, fail-closed: a request without its signature, with a wrong one, with a stale
signed timestamp (where the provider signs one) or with a signature over another body is a 401
naming the failed check, and nothing is stored; the correctly signed request is. Plus the vectors
the providers publish, and the HMAC scheme's own edge cases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookhub.inbound.verifiers import REGISTRY, table
from hookhub.inbound.verifiers.base import InboundRequest
from hookhub.inbound.verifiers.hmac_scheme import Scheme, parse_time
from tests.inbound.alexa_pki import PKI
from tests.inbound.conftest import Sources
from tests.inbound.signers import Signed, Signer, signer_for

REFUSAL = re.compile(r"signature \(([\w.-]+)\): .+")
# Checks a verifier names in its answers but not as attributes: Alexa's certificate chain (a
# wrong trust anchor), and the header a generic HMAC source is configured with.
NAMED_ELSEWHERE = {"alexa": {"alexa-cert-chain"}, "hmac": {"x-signature"}}
OTHER_WHSEC = "whsec_" + base64.b64encode(b"another-32-byte-secret-for-tests").decode()


def checks_of(verifier: Any) -> set[str]:
    """The names a verifier reports its failed checks under."""
    return {getattr(verifier, name) for name in dir(verifier) if name.endswith("CHECK")} - {None}


def wrong_config(source_type: str, config: dict[str, str]) -> dict[str, str]:
    """The same provider settings with another key: what a request signed by someone else meets."""
    other = dict(config)
    if "secret" in other:
        other["secret"] = (
            OTHER_WHSEC if other["secret"].startswith("whsec_") else "another-" + other["secret"]
        )
    if "publicKey" in other and source_type == "sendgrid":
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        other["publicKey"] = base64.b64encode(der).decode()
    elif "publicKey" in other:
        key = Ed25519PrivateKey.generate().public_key()
        other["publicKey"] = key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    if "trustAnchors" in other:
        other["trustAnchors"] = PKI().root.public_bytes(serialization.Encoding.PEM).decode()
    assert other != config
    return other


def without(signed: Signed, signer: Signer) -> dict[str, str]:
    names = {name.lower() for name in signer.headers}
    return {name: value for name, value in signed.headers.items() if name.lower() not in names}


@pytest.mark.parametrize("source_type", sorted(REGISTRY))
def test_every_provider_fails_closed(sources: Sources, pki: PKI, cert_server: str, source_type: str) -> None:
    verifier = REGISTRY[source_type]
    signer = signer_for(source_type, pki, cert_server)
    source = sources.create(type=source_type, config=signer.config)
    wrong_source = sources.create(type=source_type, config=wrong_config(source_type, signer.config))
    now = int(time.time())
    good = signer.signed(source["ingestUrl"], now)
    other = signer.signed(source["ingestUrl"], now)
    cases: dict[str, Signed] = {
        "missing": Signed(good.url, good.body, without(good, signer)),
        "wrong": signer.signed(wrong_source["ingestUrl"], now),
    }
    if signer.covers_body:  # a token sent as is (GitLab) says nothing about the body
        cases["other body"] = Signed(good.url, other.body, good.headers)
    if signer.timestamped:
        cases["stale"] = signer.signed(source["ingestUrl"], now - 3 * 86_400)
    with httpx.Client(timeout=30) as client:
        for case, request in cases.items():
            response = client.post(request.url, content=request.body, headers=request.headers)
            assert response.status_code == 401, f"{case}: {response.status_code} {response.text}"
            answer = response.json()
            assert answer["code"] == "authentication_failed", f"{case}: {answer}"
            named = REFUSAL.fullmatch(answer["detail"])
            assert named is not None, f"{case}: {answer}"
            named_checks = checks_of(verifier) | NAMED_ELSEWHERE.get(source_type, set())
            expected = {verifier.TIMESTAMP_CHECK} if case == "stale" else named_checks
            assert named.group(1) in expected, f"{case}: {answer}"
        assert sources.events(source["id"]) == [] and sources.events(wrong_source["id"]) == []
        accepted = client.post(good.url, content=good.body, headers=good.headers)
        assert accepted.status_code == 200, accepted.text
    assert len(sources.events(source["id"])) == 1
    sources.delete(source["id"])
    sources.delete(wrong_source["id"])


def assert_vector(
    sources: Sources, source_type: str, secret: str, body: bytes, headers: dict[str, str]
) -> None:
    """A provider's published example is accepted, and the same example with one byte more is not."""
    source = sources.create(type=source_type, config={"secret": secret})
    tampered = httpx.post(source["ingestUrl"], content=body + b" ", headers=headers)
    assert tampered.status_code == 401, tampered.text
    assert httpx.post(source["ingestUrl"], content=body, headers=headers).status_code == 200
    assert len(sources.events(source["id"])) == 1


def test_coinify_documented_vector(sources: Sources) -> None:
    # https://coinify.readme.io/docs/webhook-signature
    signature = "bcdbb89e3031905f3cc1a20d16b5f969a17a7d8fa0c26e4a807c2193402d66f4"
    headers = {"Content-Type": "application/json", "X-Coinify-Webhook-Signature": signature}
    assert_vector(sources, "coinify", "my-shared-secret", b'{"examplePayload":true}', headers)


def test_datasaur_documented_vector(sources: Sources) -> None:
    # https://docs.datasaur.ai/integrations/webhook-notifications/webhook-signature
    signature = "0278b1a603de4c561ac0feb960354d0d00e8846b74813d81bddb43ad45bff767"
    headers = {"Content-Type": "application/json", "X-Datasaur-Signature": signature}
    assert_vector(sources, "datasaur", "secret", b'{"body":"sample"}', headers)


def test_gitlab_token_is_never_stored(sources: Sources) -> None:
    source = sources.create(type="gitlab", config={"secret": "glpat-like-token"})
    headers = {"X-Gitlab-Token": "glpat-like-token", "X-Gitlab-Event": "Push Hook"}
    assert httpx.post(source["ingestUrl"], json={"object_kind": "push"}, headers=headers).status_code == 200
    [event] = sources.events(source["id"])
    stored = {name.lower(): value for name, value in event["headers"].items()}
    assert stored["x-gitlab-token"] == "[redacted]" and stored["x-gitlab-event"] == "Push Hook"


def test_a_signature_header_may_list_the_new_and_the_old_key(sources: Sources) -> None:
    # Docusign sends one header per active key; the source's key may sign the second.
    source = sources.create(type="docusign", config={"secret": "connect-key"})
    body = b'{"event": "envelope-completed"}'
    ours = base64.b64encode(hmac.new(b"connect-key", body, hashlib.sha256).digest()).decode()
    theirs = base64.b64encode(hmac.new(b"old-key", body, hashlib.sha256).digest()).decode()
    headers = {"X-DocuSign-Signature-1": theirs, "X-DocuSign-Signature-2": ours}
    assert httpx.post(source["ingestUrl"], content=body, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("text", "form", "expected"),
    [
        ("1700000000", "unix", 1_700_000_000.0),
        ("1700000000123", "unix-ms", 1_700_000_000.123),
        ("2019-11-16T10:11:12.634234626Z", "rfc3339", 1_573_899_072.634234),
        ("2016-07-11T10:10:33-07:00", "rfc3339", 1_468_257_033.0),
        ("2016-07-11 10:10:33Z", "rfc3339", None),
        ("2016-13-11T10:10:33Z", "rfc3339", None),
        ("\uff12\uff10\uff11\uff16-07-11T10:10:33Z", "rfc3339", None),  # fullwidth digits
        ("9" * 400, "unix-ms", None),
        ("-1700000000", "unix", None),
    ],
)
def test_signed_timestamps_are_read_strictly(text: str, form: Any, expected: float | None) -> None:
    assert parse_time(text, form) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    "fields",
    [
        {"signed": "{timestamp}.{body}"},  # signed, but read from nowhere
        {"timestamp_header": "X-Time"},  # read, but not signed
        {"signed": "{timestamp}{body}", "timestamp_header": "X-Time"},  # no window
        {"signed": "{nonsense}{body}"},
        {"signed": "{header}{body}"},
    ],
)
def test_a_scheme_that_cannot_be_checked_is_refused_at_import(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Scheme("x", "X", "X-Sig", "https://example.com", **fields)


def test_the_provider_table_in_the_docs_is_the_generated_one() -> None:
    document = table.DOC.read_text()
    assert table.spliced(document, table.render()) == document, (
        "docs/sources.md differs from the verifiers: run python -m hookhub.inbound.verifiers.table --write"
    )
    for name in REGISTRY:
        assert f"| `{name}`" in document


def test_dropbox_challenge_is_echoed_and_not_stored(sources: Sources) -> None:
    source = sources.create(type="dropbox", config={"secret": "app-secret"}, settings={"methods": ["POST"]})
    answer = httpx.get(source["ingestUrl"], params={"challenge": "a1b2c3"})
    assert answer.status_code == 200 and answer.text == "a1b2c3"
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["x-content-type-options"] == "nosniff"
    too_long = httpx.get(source["ingestUrl"], params={"challenge": "x" * 5000})
    assert too_long.status_code == 400 and too_long.json()["code"] == "bad_request"
    # Anything else still needs the signature.
    assert httpx.post(source["ingestUrl"], json={"list_folder": {}}).status_code == 401
    assert sources.events(source["id"]) == []


def test_twitch_callback_verification_needs_the_signature(
    sources: Sources, pki: PKI, cert_server: str
) -> None:
    signer = signer_for("twitch", pki, cert_server)
    source = sources.create(type="twitch", config=signer.config)
    body = b'{"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"type": "channel.follow"}}'
    request = signer.signed(source["ingestUrl"], int(time.time()), body)
    headers = {**request.headers, "Twitch-Eventsub-Message-Type": "webhook_callback_verification"}
    forged = {**headers, "Twitch-Eventsub-Message-Signature": "sha256=" + "0" * 64}
    assert httpx.post(request.url, content=body, headers=forged).status_code == 401
    answer = httpx.post(request.url, content=body, headers=headers)
    assert answer.status_code == 200 and answer.text == "pogchamp-kappa-360noscope-vohiyo"
    assert answer.headers["content-type"].startswith("text/plain")
    assert sources.events(source["id"]) == []


@pytest.mark.parametrize("source_type", ["razorpay", "box"])
def test_the_providers_own_sdk_accepts_the_recipe_and_so_does_hookhub(
    sources: Sources, pki: PKI, cert_server: str, source_type: str
) -> None:
    """The recipes the other tests sign with agree with the providers' official SDKs."""
    import razorpay
    from box_sdk_gen.managers.webhooks import WebhooksManager

    signer = signer_for(source_type, pki, cert_server)
    source = sources.create(type=source_type, config=signer.config)
    request = signer.signed(source["ingestUrl"], int(time.time()))
    secret = signer.config["secret"]
    if source_type == "razorpay":
        signature = request.headers["X-Razorpay-Signature"]
        assert razorpay.Utility(None).verify_webhook_signature(request.body.decode(), signature, secret)
    else:
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert WebhooksManager.validate_message(request.body.decode(), headers, secret)
    accepted = httpx.post(request.url, content=request.body, headers=request.headers)
    assert accepted.status_code == 200, accepted.text


def test_sendgrid_sdk_vector() -> None:
    # The vector of SendGrid's own event-webhook helper tests (@sendgrid/eventwebhook): signed in
    # 2020, so checked at the time it was signed; the HTTP path is tested with fresh keys above.
    from hookhub.inbound import verifiers
    from hookhub.inbound.verifiers import sendgrid

    key = (
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQ"
        "GhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
    )
    signature = (
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
    )
    body = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'
    headers = {sendgrid.CHECK: signature, sendgrid.TIMESTAMP_CHECK: "1588788367"}

    def at(now: float, payload: bytes) -> verifiers.Verdict:
        request = InboundRequest("POST", "https://h/webhook/k", "", "", headers, payload, now)
        return verifiers.run(sendgrid, request, {"publicKey": key}, 300)

    assert at(1588788367 + 10, body).ok
    assert at(1588788367 + 10, body + b" ").check == sendgrid.CHECK
    assert at(time.time(), body).check == sendgrid.TIMESTAMP_CHECK
