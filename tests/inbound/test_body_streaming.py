"""Bodies sent in chunks (no Content-Length): size limit enforced, body stored whole."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from tests.inbound.conftest import Sources


def chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def test_chunked_bodies(sources: Sources) -> None:
    source = sources.create(settings={"maxBodyBytes": 100})
    url = source["ingestUrl"]
    json = {"Content-Type": "application/json"}

    too_large = httpx.post(url, content=chunks(b'{"a": "', b"x" * 60, b"y" * 60, b'"}'), headers=json)
    assert too_large.status_code == 413
    assert too_large.json()["code"] == "payload_too_large"

    parts = (b'{"first": "', b"x" * 40, b'", "second": "', b"y" * 30, b'"}')
    stored = httpx.post(url, content=chunks(*parts), headers=json)
    assert stored.status_code == 200, stored.text
    event_id = stored.headers["x-hookhub-event-id"]

    events = sources.wait_for_events(source["id"], 1)
    assert [event["id"] for event in events] == [event_id]
    assert events[0]["body"] == b"".join(parts).decode()
