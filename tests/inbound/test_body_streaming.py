"""Bodies sent in chunks (no Content-Length): size limit enforced, body stored whole."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import orjson

from tests.inbound.conftest import Sources
from tests.support.raw_http import send_cut_short
from tests.support.server import ServerProcess


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


def test_a_body_cut_short_by_a_disconnect_is_not_stored(sources: Sources) -> None:
    source = sources.create()
    json = {"Content-Type": "application/json"}
    send_cut_short(source["ingestUrl"], b'{"a": "b"}', 1000, json)
    complete = httpx.post(source["ingestUrl"], content=b'{"whole": true}', headers=json)
    assert complete.status_code == 200, complete.text
    events = sources.wait_for_events(source["id"], 2, timeout=2)
    assert [event["body"] for event in events] == ['{"whole": true}']


def test_a_body_shorter_than_its_content_length_gets_408_and_is_not_stored(
    make_server: Callable[..., ServerProcess],
) -> None:
    """The client stays connected but sends no more: answered within the body timeout."""
    server = make_server({"HOOKHUB_BODY_TIMEOUT_SECONDS": "0.5"})
    with server.client() as api:
        sources = Sources(api)
        source = sources.create()
        url = urlsplit(source["ingestUrl"])
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(f"POST {url.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode())
            sock.sendall(b'{"a": "b"}')
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert orjson.loads(body)["code"] == "request_timeout"
        assert httpx.post(source["ingestUrl"], content=b"whole").status_code == 200
        events = sources.wait_for_events(source["id"], 2, timeout=2)
        assert [event["body"] for event in events] == ["whole"]
