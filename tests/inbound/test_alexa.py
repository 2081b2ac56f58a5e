"""Alexa: signature by a certificate chain fetched from SignatureCertChainUrl, checked against a
configurable trust anchor (here a CA made by the test), the echo-api.amazon.com name, 150 s window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.inbound.alexa_pki import PKI, envelope
from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess


def test_alexa_request_verification(sources: Sources, pki: PKI, cert_server: str) -> None:
    trust = pki.root.public_bytes(serialization.Encoding.PEM).decode()
    config = {"trustAnchors": trust, "certUrlPrefix": f"{cert_server}/echo.api/"}
    source = sources.create(type="alexa", config=config)
    url = source["ingestUrl"]

    def send(body: bytes, chain: str = "good.pem", signature: str | None = None) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            "SignatureCertChainUrl": f"{cert_server}/echo.api/{chain}",
            "Signature-256": signature or pki.sign(body),
        }
        return httpx.post(url, content=body, headers=headers)

    def rejected(response: httpx.Response, check: str) -> None:
        assert response.status_code == 401, response.text
        assert check in response.json()["detail"]

    now = datetime.now(UTC)
    fresh = envelope(now)
    rejected(send(envelope(now - timedelta(seconds=200))), "alexa-timestamp")
    rejected(send(fresh, signature=pki.sign(fresh + b" ")), "alexa-signature")
    rejected(send(fresh, chain="wrong-name.pem"), "alexa-cert-chain")
    rejected(send(fresh, chain="untrusted.pem"), "alexa-cert-chain")
    rejected(send(fresh, chain="missing.pem"), "alexa-cert-chain")
    outside = httpx.post(
        url,
        content=fresh,
        headers={
            "SignatureCertChainUrl": "https://evil.example.com/echo.api/x.pem",
            "Signature-256": pki.sign(fresh),
        },
    )
    rejected(outside, "alexa-cert-url")
    assert sources.events(source["id"]) == []

    assert send(fresh).status_code == 200
    assert len(sources.events(source["id"])) == 1


def test_alexa_default_url_rule_is_amazons() -> None:
    from hookhub.inbound.verifiers.alexa import cert_url_allowed

    assert cert_url_allowed("https://s3.amazonaws.com/echo.api/echo-api-cert.pem", {})
    assert cert_url_allowed("https://s3.amazonaws.com:443/echo.api/../echo.api/echo-api-cert.pem", {})
    assert not cert_url_allowed("https://s3.amazonaws.com/echo.api/../x/echo-api-cert.pem", {})
    assert not cert_url_allowed("http://s3.amazonaws.com/echo.api/echo-api-cert.pem", {})
    assert not cert_url_allowed("https://notamazon.com/echo.api/echo-api-cert.pem", {})
    assert not cert_url_allowed("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem", {})
    assert not cert_url_allowed("https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem", {})


def _superscript(host: str) -> str:
    """``host`` with 1, 2, 3 written as superscripts, which IDNA maps back to digits (and which
    survive a header's latin-1)."""
    return host.translate(str.maketrans("123", "\u00b9\u00b2\u00b3"))


@pytest.mark.parametrize("spelling", ["ascii", "superscript"])
def test_the_chain_is_not_fetched_from_a_private_address_unless_allowed(
    make_server: Callable[..., ServerProcess], pki: PKI, cert_server: str, spelling: str
) -> None:
    """The URL comes from the request: its fetch is refused by the SSRF guard like a delivery,
    however the address is spelled."""
    guarded = make_server({"HOOKHUB_ALLOW_PRIVATE_NETWORKS": ""})
    api = httpx.Client(base_url=guarded.url, headers={"Authorization": f"Bearer {guarded.token}"})
    trust = pki.root.public_bytes(serialization.Encoding.PEM).decode()
    host, port = cert_server.removeprefix("http://").split(":")
    server = f"http://{host if spelling == 'ascii' else _superscript(host)}:{port}"
    config = {"trustAnchors": trust, "certUrlPrefix": f"{server}/echo.api/"}
    source = Sources(api).create(type="alexa", config=config)
    body = envelope(datetime.now(UTC))
    fetched_before = len(pki.fetched)
    response = httpx.post(
        source["ingestUrl"],
        content=body,
        headers={
            "Content-Type": "application/json",
            "SignatureCertChainUrl": f"{server}/echo.api/good.pem".encode("latin-1"),
            "Signature-256": pki.sign(body),
        },
    )
    assert response.status_code == 401, response.text
    assert "alexa-cert-chain" in response.json()["detail"]
    assert len(pki.fetched) == fetched_before
    assert Sources(api).events(source["id"]) == []
