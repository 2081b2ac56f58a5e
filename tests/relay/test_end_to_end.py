"""The relay end to end: real ``hookhub serve``, events ingested over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.asyncio.client import connect

from tests.relay.clients import sse_listener, ws_listener
from tests.relay.e2e import create_source, ingest_url, post
from tests.support.server import ServerProcess


async def test_listeners_get_events_ingested_by_http_and_by_websocket_producers(
    server: ServerProcess,
) -> None:
    source = create_source(server)
    async with (
        ws_listener(source["listenWs"]) as ws,
        sse_listener(source["listenSse"]) as sse,
        connect(source["ingestWs"]) as producer,
    ):
        answer = await post(
            ingest_url(server, source) + "/orders/created?shop=1",
            content=b'{"action": "rampto", "intensity": 100}',
            headers={"content-type": "application/json", "x-test": "e2e"},
        )
        assert answer.status_code == 200, answer.text
        for listener in (ws, sse):
            event = await listener.event()
            assert event["method"] == "POST"
            assert event["path"] == "/orders/created"
            assert event["query"] == {"shop": "1"}
            assert event["headers"]["x-test"] == "e2e"
            assert event["body"] == {"action": "rampto", "intensity": 100}
        await producer.send(json.dumps({"action": "vibrate", "intensity": 50}))
        for listener in (ws, sse):
            assert (await listener.event())["body"] == {"action": "vibrate", "intensity": 50}


async def test_routing_by_header_key_path(server: ServerProcess) -> None:
    source = create_source(server, settings={"routeKeyPath": "headers['X-Device-Id']"})
    async with (
        ws_listener(source["listenWs"] + "?key=aaa&key=bbb") as homey_ab,
        ws_listener(source["listenWs"]) as homey_c,
    ):
        await homey_c.send({"type": "subscribe", "data": {"$keys": ["ccc"]}})
        for device in ("ccc", "zzz", "aaa"):
            response = await post(
                ingest_url(server, source), json={"device": device}, headers={"X-Device-Id": device}
            )
            assert response.status_code == 200
        assert (await homey_c.event())["body"] == {"device": "ccc"}
        # zzz matched nobody; aaa is the first event homey_ab gets.
        assert (await homey_ab.event())["body"] == {"device": "aaa"}


async def test_reply_becomes_the_callers_response(server: ServerProcess) -> None:
    source = create_source(server, settings={"reply": {"wait": True, "timeoutSeconds": 20}})
    async with ws_listener(source["listenWs"]) as ws:
        caller = asyncio.create_task(post(ingest_url(server, source), json={"question": 42}))
        event = await ws.event()
        reply_id = event["replyId"]
        assert reply_id
        first = await post(
            f"{server.url}/ingest/api/v1/reply/{reply_id}",
            json={"status": 201, "headers": {"X-Answered-By": "listener"}, "body": {"answer": 42}},
        )
        assert first.status_code == 202
        response = await caller
        assert response.status_code == 201
        assert response.headers["x-answered-by"] == "listener"
        assert response.json() == {"answer": 42}
        second = await post(f"{server.url}/ingest/api/v1/reply/{reply_id}", json={"status": 200})
        assert second.status_code == 409
        refused = await ws.send({"type": "reply", "replyId": reply_id, "body": "too late"})
        assert refused["code"] == "conflict"


async def test_no_reply_within_the_timeout_is_504(server: ServerProcess) -> None:
    source = create_source(server, settings={"reply": {"wait": True, "timeoutSeconds": 0.5}})
    async with ws_listener(source["listenWs"]) as ws:
        response = await post(ingest_url(server, source), json={"nobody": "answers"})
        assert response.status_code == 504
        reply_id = (await ws.event())["replyId"]
    late = await post(f"{server.url}/ingest/api/v1/reply/{reply_id}", json={"status": 200})
    assert late.status_code == 409


async def test_resume_after_reconnect_delivers_missed_events_exactly_once(server: ServerProcess) -> None:
    source = create_source(server)
    url = ingest_url(server, source)
    async with ws_listener(source["listenWs"]) as ws:
        await post(url, json={"n": 1})
        last_seen = (await ws.event())["id"]
    for n in (2, 3, 4):
        assert (await post(url, json={"n": n})).status_code == 200
    async with (
        ws_listener(source["listenWs"] + f"?since={last_seen}") as ws,
        sse_listener(source["listenSse"], {"last-event-id": last_seen}) as sse,
    ):
        await post(url, json={"n": 5})
        await post(url, json={"n": 6})
        for listener in (ws, sse):
            assert [(await listener.event())["body"]["n"] for _ in range(5)] == [2, 3, 4, 5, 6]


async def test_listener_messages_reach_the_websocket_producers(server: ServerProcess) -> None:
    source = create_source(server, settings={"listenersMayPublish": True})
    async with connect(source["ingestWs"]) as producer, ws_listener(source["listenWs"]) as ws:
        answer = await ws.send({"type": "publish", "data": {"action": "pulse", "seconds": 2}})
        assert answer == {"type": "published"}
        assert json.loads(await asyncio.wait_for(producer.recv(), 10)) == {"action": "pulse", "seconds": 2}


async def test_listen_secret_is_required_when_set(server: ServerProcess) -> None:
    source = create_source(server, settings={"listenSecret": "listen-secret-1"})
    async with httpx.AsyncClient() as client:
        assert (await client.get(source["listenSse"])).status_code == 401
    async with ws_listener(source["listenWs"] + "?secret=listen-secret-1") as ws:
        await post(ingest_url(server, source), json={"ok": True})
        assert (await ws.event())["body"] == {"ok": True}
