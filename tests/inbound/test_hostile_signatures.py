"""Hostile input to every verifier type: each malformed request is a 401 ``{code, detail}`` naming the
check that failed, never a 5xx, and nothing is stored; a correctly signed request still gets in."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookhub.inbound import verifiers
from hookhub.inbound.verifiers import REGISTRY
from hookhub.inbound.verifiers.base import InboundRequest
from tests.inbound.alexa_pki import PKI
from tests.inbound.conftest import Sources
from tests.inbound.signers import Signed, Signer, signer_for
from tests.support.server import ServerProcess

Header = tuple[str, bytes]
DETAIL = re.compile(r"signature \([\w.-]+\): .+")
CAUGHT = "verifier failed on a malformed request"  # the log line of verifiers.run's net
FULLWIDTH = "".join(chr(0xFF10 + digit) for digit in range(10))  # what int() also reads as digits


@dataclass
class Attempt:
    name: str
    url: str
    body: bytes
    headers: list[Header]


def _encoded(headers: dict[str, str]) -> list[Header]:
    return [(name, value.encode("latin-1")) for name, value in headers.items()]


def _replaced(
    signed: Signed, signer: Signer, change: Callable[[str], str | bytes], only: str | None = None
) -> list[Header]:
    """The signed request's headers with each signature header's value (or ``only`` one's) changed."""
    names = {only} if only else {name.lower() for name in signer.headers}
    headers = []
    for name, value in signed.headers.items():
        new = change(value) if name.lower() in names else value
        headers.append((name, new if isinstance(new, bytes) else new.encode("latin-1")))
    return headers


def _duplicated(signed: Signed, signer: Signer, second: Callable[[str], str]) -> list[Header]:
    headers = _encoded(signed.headers)
    for name in signer.headers:
        headers.append((name, second(signed.headers[name]).encode("latin-1")))
    return headers


def _translate(value: str, digits: str, encoding: str) -> bytes:
    return value.translate(str.maketrans("0123456789", digits)).encode(encoding)


def attempts(signer: Signer, url: str, now: int) -> Iterator[Attempt]:
    """Every malformed variant of a correctly signed request that differs from it."""
    good = signer.signed(url, now)
    original = _encoded(good.headers)

    def variant(name: str, headers: list[Header], body: bytes = good.body, at: str = good.url) -> Attempt:
        return Attempt(name, at, body, headers)

    names = {name.lower() for name in signer.headers}
    stamp = str(now)
    wide_stamp = _translate(stamp, FULLWIDTH, "utf-8").decode("latin-1")  # as the server reads it
    candidates = [
        variant("missing", [(n, v) for n, v in original if n.lower() not in names]),
        variant("empty", _replaced(good, signer, lambda v: "")),
        variant("garbage", _replaced(good, signer, lambda v: "garbage!")),
        variant("huge", _replaced(good, signer, lambda v: "9" * 400)),
        variant("long", _replaced(good, signer, lambda v: v * 40)),
        variant("400-digit timestamp", _replaced(good, signer, lambda v: v.replace(stamp, "9" * 400))),
        variant("latin-1 digits", _replaced(good, signer, lambda v: _translate(v, "\xb2" * 10, "latin-1"))),
        variant("fullwidth digits", _replaced(good, signer, lambda v: _translate(v, FULLWIDTH, "utf-8"))),
        variant("latin-1 timestamp", _replaced(good, signer, lambda v: v.replace(stamp, "\xb2" * 10))),
        variant("fullwidth timestamp", _replaced(good, signer, lambda v: v.replace(stamp, wide_stamp))),
        variant("odd length", _replaced(good, signer, lambda v: v + "a")),
        variant("bad last character", _replaced(good, signer, lambda v: v[:-1] + "!")),
        variant("duplicated", _duplicated(good, signer, lambda v: v)),
        variant("duplicated, other value", _duplicated(good, signer, lambda v: "garbage")),
    ]
    if signer.covers_body:
        candidates.append(variant("other body", original, body=good.body + b" "))
        candidates.append(variant("not UTF-8", original, body=b"\xff\xfe" + good.body))
    if signer.timestamped:
        for name, when in (("stale", now - 3600), ("future", now + 3600)):
            late = signer.signed(url, when)
            candidates.append(variant(name, _encoded(late.headers), late.body, late.url))
    for name in names & {"webhook-signature", "svix-signature"}:
        for value in ("v1", "v1,a,b", "v1,!!!", ",", "v1, v1,"):
            headers = _replaced(good, signer, lambda v, value=value: value, only=name)
            candidates.append(variant(f"signature {value!r}", headers))
    for attempt in candidates:
        if (attempt.url, attempt.body, attempt.headers) != (good.url, good.body, original):
            yield attempt


def refusal_error(response: httpx.Response) -> str | None:
    """None for a 401 ``{code, detail}`` naming the failed check, else what was wrong."""
    if response.status_code != 401:
        return f"{response.status_code} {response.text}"
    answer = response.json()
    if answer.get("code") != "authentication_failed" or not DETAIL.fullmatch(answer.get("detail", "")):
        return f"401 {answer}"
    return None


def assert_refused(response: httpx.Response, what: str) -> None:
    error = refusal_error(response)
    assert error is None, f"{what}: {error}"


# Header values as a sender may put them on the wire: any byte but controls, and no whitespace
# around them (h11 refuses both).
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")).map(
    lambda value: value.strip(" ")
)


@pytest.mark.parametrize("source_type", sorted(REGISTRY))
def test_malformed_signatures_are_refused(
    server: ServerProcess, sources: Sources, pki: PKI, cert_server: str, source_type: str
) -> None:
    caught_before = server.log().count(CAUGHT)
    signer = signer_for(source_type, pki, cert_server)
    source = sources.create(type=source_type, config=signer.config)
    url = source["ingestUrl"]
    now = int(time.time())
    with httpx.Client(timeout=30) as client:
        wrong = {}
        for attempt in attempts(signer, url, now):
            response = client.post(attempt.url, content=attempt.body, headers=attempt.headers)
            error = refusal_error(response)
            if error is not None:
                wrong[attempt.name] = error
        assert wrong == {}

        good = signer.signed(url, now)

        @given(values=st.lists(header_values, min_size=len(signer.headers), max_size=len(signer.headers)))
        @settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
        def garbage_headers(values: list[str]) -> None:
            garbage = dict(zip(signer.headers, values, strict=True))
            headers = [(n, v) for n, v in _encoded(good.headers) if n not in garbage]
            headers += [(n, v.encode("latin-1")) for n, v in garbage.items()]
            response = client.post(good.url, content=good.body, headers=headers)
            assert_refused(response, f"{source_type}, headers {values!r}")

        @given(body=st.binary(max_size=512))
        @settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
        def garbage_body(body: bytes) -> None:
            if body != good.body:
                response = client.post(good.url, content=body, headers=_encoded(good.headers))
                assert_refused(response, f"{source_type}, body {body!r}")

        garbage_headers()
        if signer.covers_body:
            garbage_body()
        assert sources.events(source["id"]) == []
        # The same source takes a correctly signed request: the refusals were the input's fault.
        accepted = client.post(good.url, content=good.body, headers=good.headers)
        assert accepted.status_code == 200, accepted.text
    assert len(sources.events(source["id"])) == 1
    sources.delete(source["id"])
    # Each verifier refused its malformed input itself: none needed the net under them all.
    assert server.log().count(CAUGHT) == caught_before


def test_whatever_a_verifier_raises_is_a_401_and_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """The net under every verifier: no provider module's slip can turn hostile input into a 5xx."""

    def broken(request: InboundRequest, config: object) -> None:
        raise ValueError("invalid literal for int() with base 10: '²'")

    module = SimpleNamespace(__name__="hookhub.inbound.verifiers.broken", CHECK="x-broken", verify=broken)
    request = InboundRequest("POST", "http://h/webhook/k", "", "", {}, b"{}", time.time())
    with caplog.at_level(logging.WARNING, logger="hookhub.inbound"):
        verdict = verifiers.run(module, request, {}, None)  # type: ignore[arg-type]
    assert not verdict.ok and verdict.check == "x-broken"
    [record] = caplog.records
    assert record.exc_info is None and "\n" not in record.getMessage()
    message = record.getMessage()
    assert message.startswith("broken " + CAUGHT) and "ValueError" in message


def test_every_verifier_names_its_checks() -> None:
    """What ``verifiers.run`` reports failures under, and the window of every timestamped provider."""
    for module in set(REGISTRY.values()):
        assert isinstance(module.CHECK, str) and module.CHECK
        if hasattr(module, "WINDOW_SECONDS"):
            assert isinstance(module.TIMESTAMP_CHECK, str) and module.TIMESTAMP_CHECK
