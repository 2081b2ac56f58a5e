"""An ingest fuzzer: random methods, sub-paths, queries, headers and bodies (bytes, JSON, forms, text
that is not UTF-8), with signature headers that are missing, garbage, valid for another body,
stale, or valid, sent to a source of every verifier type hookhub has (and one without a verifier).

Whatever arrives: never a 5xx; every request a verifier refused is a 401 that stored nothing; and
the events a source holds are exactly the ones whose answers named them (``X-Hookhub-Event-Id``),
each of which carried a valid signature.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookhub.inbound.verifiers import REGISTRY
from tests.inbound.alexa_pki import PKI, certificate_server
from tests.inbound.signers import Signer, signer_for
from tests.support.server import ServerProcess

EXAMPLES_PER_SOURCE = 10
UNVERIFIED = "generic-webhook"  # a source without a verifier: only the transport and parsing
TYPES = [UNVERIFIED, *sorted(REGISTRY)]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "X-WEIRD"]
# Each signature header's value, or how the request is signed as a whole.
SIGNATURES = ["none", "garbage", "other body", "stale", "valid"]
# JSON shapes the providers' handshakes read (Slack, Zoom, Discord), with any value in each field.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
handshake_bodies = st.one_of(
    st.fixed_dictionaries({"type": st.just("url_verification"), "challenge": json_values}),
    st.fixed_dictionaries({"event": st.just("endpoint.url_validation"), "payload": json_values}),
    st.fixed_dictionaries({"type": st.sampled_from([1, "1", 1.0, True])}),
)
header_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&'*+.^`|~", min_size=1, max_size=20)
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
).map(lambda value: value.strip(" \t"))
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain; charset=bogus",
        "application/vnd.api+json; charset=utf-16",
        "multipart/form-data; boundary=x",
        "",
    ]
)


@dataclass
class Tally:
    """What one source was sent and answered."""

    accepted: set[str] = field(default_factory=set)  # event ids named by answers
    statuses: dict[int, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def cert_server() -> Iterator[tuple[PKI, str]]:
    pki = PKI()
    with certificate_server(pki) as url:
        yield pki, url


@pytest.fixture(scope="module")
def sources(
    admin: httpx.Client, cert_server: tuple[PKI, str]
) -> dict[str, tuple[dict[str, Any], Signer | None]]:
    """One source per verifier type, taking every method and never throttled."""
    made = {}
    for source_type in TYPES:
        signer = None if source_type == UNVERIFIED else signer_for(source_type, *cert_server)
        body = {
            "name": f"fuzzed {source_type}",
            "type": source_type,
            "config": signer.config if signer else {},
            "settings": {"throttle": {"limit": 1_000_000, "periodSeconds": 1}},
        }
        response = admin.post("/ingest/api/v1/source", json=body)
        assert response.status_code == 201, response.text
        made[source_type] = (response.json(), signer)
    return made


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    kind = draw(st.sampled_from(["bytes", "json", "handshake", "form", "not utf-8", "empty"]))
    content_type = draw(content_types)
    if kind == "bytes":
        return draw(st.binary(max_size=300)), content_type
    if kind in ("json", "handshake"):
        value = draw(handshake_bodies if kind == "handshake" else json_values)
        return json.dumps(value).encode(), draw(st.sampled_from(["application/json", None, content_type]))
    if kind == "form":
        fields = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4))
        return urlencode(fields).encode(), draw(st.sampled_from(["application/x-www-form-urlencoded", None]))
    if kind == "not utf-8":
        return b"\xff\xfe\xc3(" + draw(st.binary(max_size=50)), content_type
    return b"", content_type


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "method": draw(st.sampled_from(METHODS)),
        "sub_path": draw(st.text("abcXYZ019-._~%/:@!$&'()*+,;= ", max_size=24)),
        "query": draw(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=3)),
        "headers": draw(st.lists(st.tuples(header_names, header_values), max_size=4)),
        "body": draw(bodies()),
        "signature": draw(st.sampled_from(SIGNATURES)),
        "garbage": draw(st.lists(header_values, min_size=3, max_size=3)),
    }


def build(
    request: dict[str, Any], ingest_url: str, signer: Signer | None
) -> tuple[str, list[Any], bytes, str]:
    """The URL, headers and body to send for a drawn request, and how it is signed."""
    url = ingest_url
    if request["sub_path"]:
        url += "/" + quote(request["sub_path"], safe="/%:@!$&'()*+,;=~")
    if request["query"]:
        url += "?" + urlencode(request["query"])
    body, content_type = request["body"]
    headers: list[tuple[str, bytes]] = [(n, v.encode("latin-1")) for n, v in request["headers"]]
    if content_type is not None:
        headers.append(("Content-Type", content_type.encode()))
    mode = request["signature"]
    if signer is None or mode == "none":
        return url, headers, body, mode
    now = int(time.time())
    if mode == "stale" and not signer.timestamped:
        mode = "valid"  # a provider that signs no time: an old signature is as good as a new one
    if mode == "other body" and not signer.covers_body:
        mode = "valid"  # a token sent as is (GitLab's) signs no body: any body is as good
    signed_body = body + b"!" if mode == "other body" else body
    try:
        signed = signer.signed(url, now - 3600 if mode == "stale" else now, signed_body)
    except (UnicodeDecodeError, TypeError):  # some SDKs sign only text (or forms): garbage then
        mode = "garbage"
    if mode == "garbage":
        signature_headers = dict(zip(signer.headers, request["garbage"], strict=False))
        return url, headers + [(n, v.encode("latin-1")) for n, v in signature_headers.items()], body, mode
    names = {name.lower() for name in signer.headers}
    sent = [(n, v) for n, v in headers if n.lower() not in names and n.lower() != "content-type"]
    sent += [(n, v.encode("latin-1")) for n, v in signed.headers.items() if n.lower() in names]
    if content_type is not None:
        sent.append(("Content-Type", content_type.encode()))
    # Twilio signs the URL with its bodySHA256: the signer's URL is the one to send.
    return signed.url, sent, body, mode


def test_ingest_survives_whatever_arrives(
    hostile_server: ServerProcess, admin: httpx.Client, sources: dict[str, Any]
) -> None:
    tallies = {source_type: Tally() for source_type in TYPES}
    refused = 0

    with httpx.Client(timeout=30) as client:

        @given(request=requests())
        @settings(
            max_examples=EXAMPLES_PER_SOURCE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(source_type: str, request: dict[str, Any]) -> None:
            nonlocal refused
            source, signer = sources[source_type]
            url, headers, body, mode = build(request, source["ingestUrl"], signer)
            response = client.request(request["method"], url, headers=headers, content=body)
            status = response.status_code
            tally = tallies[source_type]
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            assert status < 500, f"{request!r} → {status} {response.text}"
            event_id = response.headers.get("x-hookhub-event-id")
            if status == 401:
                refused += 1
                assert event_id is None
                assert response.json()["code"] == "authentication_failed"
            if event_id is not None:
                assert 200 <= status < 300
                if signer is not None:
                    assert mode == "valid", f"{request!r} was stored unverified"
                tally.accepted.add(event_id)

        for source_type in TYPES:  # each type its own run: one draw of types would favour a few
            fuzz(source_type)

    for source_type, (source, _) in sources.items():
        listed = admin.get(f"/ingest/api/v1/source/{source['id']}/event", params={"limit": 250})
        assert listed.status_code == 200
        stored = {event["id"] for event in listed.json()["data"]}
        assert stored == tallies[source_type].accepted, source_type
    print(
        f"\ningest fuzzer: {EXAMPLES_PER_SOURCE * len(TYPES)} requests over {len(TYPES)} sources, "
        f"{refused} refused (401), "
        f"{sum(len(t.accepted) for t in tallies.values())} stored; statuses by type: "
        + "; ".join(f"{name} {dict(sorted(t.statuses.items()))}" for name, t in tallies.items())
    )
    assert "Traceback" not in hostile_server.log()


@pytest.mark.parametrize("payload", ["x", [1], 5, None, {"plainToken": {"a": 1}}, {}])
def test_a_signed_zoom_validation_without_a_plain_token_is_a_400(
    sources: dict[str, Any], payload: Any
) -> None:
    """Found by the fuzzer: a correctly signed ``endpoint.url_validation`` whose ``payload`` was not
    an object raised in the handshake (503, a traceback per request)."""
    source, signer = sources["zoom"]
    body = json.dumps({"event": "endpoint.url_validation", "payload": payload, "n": secrets.token_hex(8)})
    body = body.encode()
    signed = signer.signed(source["ingestUrl"], int(time.time()), body)
    response = httpx.post(signed.url, content=signed.body, headers=signed.headers, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "code": "bad_request",
        "detail": "Zoom's endpoint.url_validation needs payload.plainToken, a string",
    }
    token = secrets.token_hex(8)  # each request its own: a repeated signature is a replay
    good = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": token}}).encode()
    signed = signer.signed(source["ingestUrl"], int(time.time()), good)
    response = httpx.post(signed.url, content=signed.body, headers=signed.headers, timeout=30)
    assert response.status_code == 200 and response.json()["plainToken"] == token
