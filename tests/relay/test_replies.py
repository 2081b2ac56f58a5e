"""Custom replies (Losant): first reply wins, later ones 409, none within the timeout → None (504)."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from tests.relay.clients import ws_listener
from tests.relay.harness import Node


def new_reply_id() -> str:
    return "rpl_" + secrets.token_urlsafe(24)


async def test_ws_reply_wins_and_later_rest_reply_gets_409(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    async with ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws:
        await node.ingest(source["id"], reply_id=reply_id)
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        event = await ws.event()
        assert event["replyId"] == reply_id
        answer = await ws.send(
            {
                "type": "reply",
                "replyId": reply_id,
                "status": 201,
                "headers": {"X-Done": "1"},
                "body": {"ok": True},
            }
        )
        assert answer == {"type": "replied", "replyId": reply_id}
        reply = await waiting
        assert reply is not None
        assert (reply.status, reply.body) == (201, b'{"ok":true}')
        assert reply.headers == {"X-Done": "1", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=node.url) as client:
        late = await client.post(f"/ingest/api/v1/reply/{reply_id}", json={"status": 200, "body": "late"})
        assert late.status_code == 409
        assert late.json()["code"] == "conflict"


async def test_rest_reply_wins_and_later_ws_reply_is_refused(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    async with ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws:
        await node.ingest(source["id"], reply_id=reply_id)
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        assert (await ws.event())["replyId"] == reply_id
        async with httpx.AsyncClient(base_url=node.url) as client:
            first = await client.post(
                f"/ingest/api/v1/reply/{reply_id}/", json={"status": 202, "body": "<Response/>"}
            )
        assert first.status_code == 202, first.text
        reply = await waiting
        assert reply is not None
        assert (reply.status, reply.body) == (202, b"<Response/>")
        assert reply.headers["content-type"].startswith("text/plain")
        refused = await ws.send({"type": "reply", "replyId": reply_id, "status": 200})
        assert refused["type"] == "error" and refused["code"] == "conflict"
        assert refused["replyId"] == reply_id


async def test_no_reply_within_timeout(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    await node.ingest(source["id"], reply_id=reply_id)
    assert await node.runtime.relay.wait_reply(reply_id, 0.2) is None
    async with httpx.AsyncClient(base_url=node.url) as client:
        late = await client.post(f"/ingest/api/v1/reply/{reply_id}", json={"status": 200})
        assert late.status_code == 409


async def test_bad_replies(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    await node.ingest(source["id"], reply_id=reply_id)
    async with httpx.AsyncClient(base_url=node.url) as client:
        unknown = await client.post(f"/ingest/api/v1/reply/{new_reply_id()}", json={"status": 200})
        assert unknown.status_code == 404
        bad_headers = [{"X-A": "a\r\nSet-Cookie: s=1"}, {"X-A": "a\u0000b"}, {"X-A": "\u0007"}, {"X(A)": "1"}]
        bad = [{"status": "ok"}, {"status": 99}, {"headers": ["x"]}, {"headers": {"X": {"a": 1}}}, [1]]
        for body in [*bad, *({"headers": headers} for headers in bad_headers)]:
            response = await client.post(f"/ingest/api/v1/reply/{reply_id}", json=body)
            assert response.status_code == 422, (body, response.text)
        broken = await client.post(f"/ingest/api/v1/reply/{reply_id}", content=b"{not json")
        assert broken.status_code == 422
        # None of the bad replies used up the request: a good one still wins.
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        good = await client.post(f"/ingest/api/v1/reply/{reply_id}", json={"status": 200, "body": None})
        assert good.status_code == 202
    reply = await waiting
    assert reply is not None and reply.status == 200 and reply.body == b""


async def test_a_reply_after_the_caller_went_away_gets_409(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    await node.ingest(source["id"], reply_id=reply_id)
    waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 30))
    await asyncio.sleep(0)  # let it start waiting
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with httpx.AsyncClient(base_url=node.url) as client:
        late = await client.post(f"/ingest/api/v1/reply/{reply_id}", json={"status": 200})
    assert late.status_code == 409


# Headers that only make sense for hookhub itself (its origin, its framing, its own policy):
# refused with a 422 that names the header, whatever their case.
GATEWAY_HEADERS = [
    "Set-Cookie",
    "set-cookie2",
    "Content-Security-Policy",
    "Content-Security-Policy-Report-Only",
    "Service-Worker-Allowed",
    "Clear-Site-Data",
    "Strict-Transport-Security",
    "Access-Control-Allow-Origin",
    "access-control-allow-credentials",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "Permissions-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Alt-Svc",
    "NEL",
    "WWW-Authenticate",
    "Connection",
    "Keep-Alive",
    "Transfer-Encoding",
    "Content-Length",
    "Upgrade",
    "TE",
    "Trailer",
    "Proxy-Authenticate",
    "Proxy-Connection",
    "Date",
    "X-Hookhub-Event-Id",
]
# Headers no HTTP message may carry, and limits: each refused when the reply is posted rather
# than becoming a 500 (or a split answer) for the waiting caller.
MALFORMED_HEADERS = [
    {"X-Split": "a\r\nSet-Cookie: stolen=1"},
    {"X-Line": "a\nb"},
    {"X-Nul": "a\x00b"},
    {"X-Del": "a\x7fb"},
    {"X-Escape": "\x1b[31m"},
    {"X-Text": "café"},
    {"X-Long": "a" * 8193},
    {"Bad Name": "x"},
    {"Bad:Name": "x"},
    {"Bad\r\nName": "x"},
    {"": "x"},
    {"x" * 257: "x"},
    {"X-Flag": True},
    {"Content-Type": "text/html\r\nX-Evil: 1"},
    {"Content-Type": "not a media type"},
    {f"X-Many-{n}": "x" for n in range(101)},
]


async def _refused(client: httpx.AsyncClient, reply_id: str, body: dict) -> dict:
    response = await client.post(f"/ingest/api/v1/reply/{reply_id}", json=body)
    assert response.status_code == 422, (body, response.text)
    assert response.json()["code"] == "validation"
    return response.json()["detail"][0]


async def test_reply_headers_meant_for_the_gateway_are_refused_with_a_reason(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    await node.ingest(source["id"], reply_id=reply_id)
    async with httpx.AsyncClient(base_url=node.url) as client:
        for name in GATEWAY_HEADERS:
            detail = await _refused(client, reply_id, {"status": 200, "headers": {name: "1"}, "body": "x"})
            assert detail["loc"] == ["body", "headers", name]
            assert f"a reply may not set {name}" in detail["msg"]
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        headers = {"X-Allowed": "1", "Cache-Control": "no-store", "Location": "/elsewhere"}
        good = await client.post(
            f"/ingest/api/v1/reply/{reply_id}", json={"status": 302, "headers": headers, "body": None}
        )
        assert good.status_code == 202, good.text
    reply = await waiting
    assert reply is not None and reply.status == 302 and reply.headers == headers


async def test_malformed_reply_headers_are_refused_when_posted(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    await node.ingest(source["id"], reply_id=reply_id)
    async with httpx.AsyncClient(base_url=node.url) as client:
        for headers in MALFORMED_HEADERS:
            detail = await _refused(client, reply_id, {"status": 200, "headers": headers, "body": "x"})
            assert detail["loc"][:2] == ["body", "headers"], headers
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        good = await client.post(
            f"/ingest/api/v1/reply/{reply_id}",
            json={"headers": {"Content-Type": "text/csv; charset=utf-8", "X-Tab": "a\tb c"}, "body": "a,b"},
        )
        assert good.status_code == 202, good.text
    reply = await waiting
    assert reply is not None
    assert reply.headers == {"Content-Type": "text/csv; charset=utf-8", "X-Tab": "a\tb c"}


@pytest.mark.parametrize("status", [204, 304])
async def test_a_204_or_304_reply_with_a_body_is_refused(node: Node, status: int) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    await node.ingest(source["id"], reply_id=reply_id)
    async with httpx.AsyncClient(base_url=node.url) as client:
        for body in ("HTTP/1.1 200 OK\r\n\r\n", {"a": 1}, [], 0):
            detail = await _refused(client, reply_id, {"status": status, "body": body})
            assert detail["loc"] == ["body", "body"]
            assert f"a {status} answer has no body" in detail["msg"]
        for interim in (100, 101, 103, 199):  # not final answers
            detail = await _refused(client, reply_id, {"status": interim})
            assert detail["loc"] == ["body", "status"] and "1xx" in detail["msg"]
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        good = await client.post(f"/ingest/api/v1/reply/{reply_id}", json={"status": status, "body": ""})
        assert good.status_code == 202, good.text
    reply = await waiting
    assert reply is not None and (reply.status, reply.body) == (status, b"")


async def test_a_ws_reply_frame_with_a_gateway_header_gets_an_error_frame(node: Node) -> None:
    source = await node.create_source()
    reply_id = new_reply_id()
    async with ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws:
        await node.ingest(source["id"], reply_id=reply_id)
        waiting = asyncio.create_task(node.runtime.relay.wait_reply(reply_id, 10))
        assert (await ws.event())["replyId"] == reply_id
        frame = {"type": "reply", "replyId": reply_id, "status": 200, "body": "<p>hi</p>"}
        refused = await ws.send({**frame, "headers": {"Set-Cookie": "session=stolen"}})
        assert refused["type"] == "error" and refused["code"] == "validation"
        assert refused["replyId"] == reply_id
        assert "a reply may not set Set-Cookie" in refused["detail"][0]["msg"]
        refused = await ws.send({**frame, "status": 204})
        assert refused["type"] == "error" and "has no body" in refused["detail"][0]["msg"]
        accepted = await ws.send({**frame, "headers": {"Content-Type": "text/html"}})
        assert accepted == {"type": "replied", "replyId": reply_id}
    reply = await waiting
    assert reply is not None and reply.headers == {"Content-Type": "text/html"}
