"""Alexa: signature by a certificate chain fetched from SignatureCertChainUrl, checked against a
configurable trust anchor (here a CA made by the test), the echo-api.amazon.com name, 150 s window."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(
    name: str, key: rsa.RSAPrivateKey, issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None
) -> x509.Certificate:
    now = datetime.now(UTC)
    issuer_name, issuer_key = issuer or (_name(name), key)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def _leaf(
    key: rsa.RSAPrivateKey, issuer: x509.Certificate, issuer_key: rsa.RSAPrivateKey, dns: str
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(dns))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


class PKI:
    def __init__(self) -> None:
        self.root_key, self.intermediate_key, self.leaf_key = _key(), _key(), _key()
        self.root = _ca("Test Root CA", self.root_key, None)
        self.intermediate = _ca(
            "Test Intermediate", self.intermediate_key, (self.root.subject, self.root_key)
        )
        self.leaf = _leaf(self.leaf_key, self.intermediate, self.intermediate_key, "echo-api.amazon.com")
        wrong_name = _leaf(self.leaf_key, self.intermediate, self.intermediate_key, "evil.example.com")
        stranger_key = _key()
        stranger = _ca("Stranger CA", stranger_key, None)
        self.files = {
            "/echo.api/good.pem": _pem(self.leaf, self.intermediate),
            "/echo.api/wrong-name.pem": _pem(wrong_name, self.intermediate),
            "/echo.api/untrusted.pem": _pem(
                _leaf(self.leaf_key, stranger, stranger_key, "echo-api.amazon.com")
            ),
        }
        self.fetched: list[str] = []  # paths the certificate server was asked for

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.leaf_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


@pytest.fixture(scope="module")
def cert_server(pki: PKI) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            pki.fetched.append(self.path)
            body = pki.files.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _envelope(when: datetime) -> bytes:
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = {"type": "LaunchRequest", "requestId": "amzn1.echo-api.request.1", "timestamp": stamp}
    return json.dumps({"version": "1.0", "request": request}).encode()


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
    fresh = _envelope(now)
    rejected(send(_envelope(now - timedelta(seconds=200))), "alexa-timestamp")
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
    body = _envelope(datetime.now(UTC))
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
