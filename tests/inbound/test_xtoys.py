"""XToys webhooks: GET query payloads, POST JSON, WebSocket messages, private vs shared sources."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess

ACTION_REQUIRED = {"type": "object", "required": ["action"], "properties": {"action": {"type": "string"}}}


def xtoys_source(sources: Sources, **settings: object) -> dict:
    return sources.create(
        name="xtoys", settings={"eventTypeFrom": "body.action", "schema": ACTION_REQUIRED, **settings}
    )


def test_get_with_query_string_is_the_payload(sources: Sources) -> None:
    source = xtoys_source(sources)
    response = httpx.get(source["ingestUrl"] + "?action=setintensity&intensity=50")
    assert response.status_code == 200
    [event] = sources.events(source["id"])
    assert event["method"] == "GET"
    assert event["query"] == "action=setintensity&intensity=50"
    assert event["eventType"] == "setintensity"
    assert event["id"] == response.headers["x-hookhub-event-id"]


def test_post_json_with_action(sources: Sources) -> None:
    source = xtoys_source(sources)
    raw = b'{\n    "action": "rampto",\n    "intensity": 100,\n    "seconds": 5\n}'
    response = httpx.post(source["ingestUrl"], content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    [event] = sources.events(source["id"])
    assert event["body"].encode() == raw  # byte-exact
    assert event["eventType"] == "rampto"


def test_missing_action_is_rejected_by_the_schema(sources: Sources) -> None:
    source = xtoys_source(sources)
    assert httpx.get(source["ingestUrl"] + "?intensity=50").status_code == 400
    response = httpx.post(source["ingestUrl"], json={"intensity": 100})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert response.json()["code"] == "bad_request"
    assert any("'action' is a required property" in violation["msg"] for violation in detail)
    assert sources.events(source["id"]) == []


def test_websocket_messages_are_ingested_like_posts(sources: Sources) -> None:
    source = xtoys_source(sources)
    ws_url = source["ingestUrl"].replace("http://", "ws://")

    async def talk() -> dict:
        async with websockets.connect(ws_url) as ws:
            await ws.send(json.dumps({"action": "rampto", "intensity": 100, "seconds": 5}))
            await ws.send(json.dumps({"action": "vibrate", "intensity": 10}))
            await ws.send("{not json")
            error = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"no_action": True}))
            invalid = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return {"error": error, "invalid": invalid}

    frames = asyncio.run(talk())
    assert frames["error"]["type"] == "error" and frames["error"]["status"] == 400
    assert frames["invalid"]["status"] == 400 and "action" in json.dumps(frames["invalid"]["detail"])
    events = sources.wait_for_events(source["id"], 2)
    assert sorted(e["eventType"] for e in events) == ["rampto", "vibrate"]
    assert {e["method"] for e in events} == {"POST"}


def test_shared_source_needs_the_bearer_token(sources: Sources) -> None:
    source = xtoys_source(sources, auth={"type": "bearer"})
    url = source["ingestUrl"] + "?action=go"
    response = httpx.get(url)
    assert response.status_code == 401
    assert "auth (bearer)" in response.json()["detail"]
    token = sources.auth_token(source["id"])
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Regenerating the token retires the old one.
    new_token = sources.auth_token(source["id"])
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    events = sources.events(source["id"])
    assert len(events) == 2
    # The token is a secret: the event log keeps the header's presence, never its value.
    for event in events:
        assert event["headers"]["authorization"] == "[redacted]"
        assert token not in str(event) and new_token not in str(event)


def test_shared_source_websocket_needs_the_token(sources: Sources) -> None:
    source = xtoys_source(sources, auth={"type": "bearer"})
    token = sources.auth_token(source["id"])
    ws_url = source["ingestUrl"].replace("http://", "ws://")

    async def talk() -> None:
        try:
            async with websockets.connect(ws_url):
                raise AssertionError("connected without a token")
        except websockets.InvalidStatus as exc:
            # Refused as HTTP ingest refuses: a 401 saying which check failed, not a bare 403.
            assert exc.response.status_code == 401
            refusal = json.loads(exc.response.body)
            assert refusal["code"] == "authentication_failed" and "auth (bearer)" in refusal["detail"]
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"action": "shared"}))

    asyncio.run(talk())
    [event] = sources.wait_for_events(source["id"], 1)
    assert event["eventType"] == "shared"


def test_listeners_talk_back_to_websocket_producers(sources: Sources, server: ServerProcess) -> None:
    source = xtoys_source(sources, listenersMayPublish=True)
    key = source["ingestUrl"].rsplit("/", 1)[1]
    ingest_ws = source["ingestUrl"].replace("http://", "ws://")
    listen_ws = server.url.replace("http://", "ws://") + f"/listen/{key}"

    async def talk() -> tuple[dict, dict]:
        async with websockets.connect(listen_ws) as listener, websockets.connect(ingest_ws) as producer:
            assert json.loads(await asyncio.wait_for(listener.recv(), 10))["type"] == "ready"
            await producer.send(json.dumps({"action": "hello", "from": "script"}))
            seen = json.loads(await asyncio.wait_for(listener.recv(), 10))
            # The producer was registered before its message was ingested, so it is there now.
            await listener.send(json.dumps({"type": "publish", "data": {"action": "vibrate"}}))
            assert json.loads(await asyncio.wait_for(listener.recv(), 10))["type"] == "published"
            return seen, json.loads(await asyncio.wait_for(producer.recv(), 10))

    seen, back = asyncio.run(talk())
    assert seen["body"] == {"action": "hello", "from": "script"} and seen["method"] == "POST"
    assert back == {"action": "vibrate"}
