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
