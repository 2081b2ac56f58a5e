"""The key-path grammar (Homey): parsed, never evaluated."""

from __future__ import annotations

import pytest

from hookhub.relay.keypath import KeyPathError, parse

REQUEST = {
    "body": {"device": {"id": "aaa"}, "items": [{"id": "first"}, {"id": "second"}], "X-Device-Id": "bbb"},
    "headers": {"X-Device-Id": "hdr", "content-type": "application/json"},
    "query": {"homey": "h1"},
    "path": "/orders/created",
    "method": "POST",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("query.homey", "h1"),
        ("headers['X-Device-Id']", "hdr"),
        ("headers['x-device-id']", "hdr"),
        ('headers["CONTENT-TYPE"]', "application/json"),
        ("body.device.id", "aaa"),
        ("body.items[0].id", "first"),
        ("body.items[-1].id", "second"),
        ("body['X-Device-Id']", "bbb"),
        ("body.items[5].id", None),
        ("body.device.missing.deeper", None),
        ("path", "/orders/created"),
    ],
)
def test_resolves(path: str, expected: object) -> None:
    assert parse(path).resolve(REQUEST) == expected


def test_body_keys_are_case_sensitive() -> None:
    assert parse("body['x-device-id']").resolve(REQUEST) is None


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "os.system('x')",
        "body..a",
        "body[",
        "body['a'",
        "body[a]",
        "__import__('os')",
        "body.a()",
        "cookies.x",
    ],
)
def test_rejects_anything_but_the_grammar(bad: str) -> None:
    with pytest.raises(KeyPathError):
        parse(bad)
