"""Pure parts of the relay: routing decisions, the slow-listener guard, reply bodies, event JSON."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from hookhub.errors import ValidationFailed
from hookhub.relay.events import listener_event, smee_data
from hookhub.relay.listeners import QUEUE_SIZE, Frame, Listener, route_key_text
from hookhub.relay.replies import parse_reply


def frame(n: int, route_key: str | None = None) -> Frame:
    return Frame("src_x", route_key, {"id": f"evt_{n}"})


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, None), ("aaa", "aaa"), (42, "42"), (1.5, "1.5"), (True, "true"), ({"a": 1}, '{"a":1}')],
)
def test_route_key_text_matches_what_ingest_stores(value: object, text: str | None) -> None:
    assert route_key_text(value) == text


def test_routing_decisions() -> None:
    unrouted = Listener("src_x", keys=None, routed=False)
    keyed = Listener("src_x", keys=["aaa"], routed=True)
    keyless = Listener("src_x", keys=None, routed=True)
    assert unrouted.accepts(None)
    assert keyed.accepts("aaa") and not keyed.accepts("bbb") and not keyed.accepts(None)
    assert not keyless.accepts("aaa") and not keyless.accepts(None)


def test_a_listener_that_falls_behind_is_told_to_reconnect() -> None:
    listener = Listener("src_x", keys=None, routed=False)
    for n in range(QUEUE_SIZE + 5):
        listener.offer(frame(n))
    assert listener.overflowed
    assert listener.queue.qsize() == QUEUE_SIZE
    items = [listener.queue.get_nowait() for _ in range(QUEUE_SIZE)]
    assert items[-1] is None  # the close signal is the last thing it reads
    assert [item.id for item in items[:-1] if item] == [f"evt_{n}" for n in range(1, QUEUE_SIZE)]


@pytest.mark.parametrize(
    ("payload", "status", "body", "content_type"),
    [
        ({}, 200, b"", None),
        ({"status": 201, "body": "text"}, 201, b"text", "text/plain; charset=utf-8"),
        ({"body": {"a": [1]}}, 200, b'{"a":[1]}', "application/json"),
        ({"body": "<x/>", "headers": {"Content-Type": "application/xml"}}, 200, b"<x/>", None),
    ],
)
def test_reply_bodies(payload: dict, status: int, body: bytes, content_type: str | None) -> None:
    reply = parse_reply(payload)
    assert (reply.status, reply.body) == (status, body)
    assert reply.headers.get("content-type") == content_type


def test_reply_refuses_headers_the_server_computes() -> None:
    """Refused with a reason rather than silently dropped: the replier learns what was not sent."""
    with pytest.raises(ValidationFailed, match="may not set Content-Length"):
        parse_reply({"headers": {"Content-Length": "5", "X-Ok": "1"}})


@pytest.mark.parametrize(
    "payload", [{"status": True}, {"status": 700}, {"headers": {"Bad Name": "x"}}, {"headers": {"X": None}}]
)
def test_bad_replies(payload: dict) -> None:
    with pytest.raises(ValidationFailed):
        parse_reply(payload)


def test_listener_event_and_smee_data() -> None:
    raw = b"a=1&b=2&b=3"
    event = listener_event(
        id="evt_1",
        method="POST",
        path="/hook",
        query="x=1",
        headers=[("Content-Type", "application/x-www-form-urlencoded"), ("X-Multi", "1"), ("x-multi", "2")],
        body=raw,
        received_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )
    assert event["body"] == {"a": "1", "b": ["2", "3"]}
    assert base64.b64decode(event["rawBody"]) == raw
    assert event["headers"]["x-multi"] == "1, 2"
    assert event["receivedAt"] == "2026-01-02T03:04:05.678Z"
    data = smee_data({**event, "headers": {**event["headers"], "host": "h", "content-length": "11"}})
    assert data["query"] == {"x": "1"}
    assert "host" not in data and "content-length" not in data
    assert data["x-multi"] == "1, 2"
