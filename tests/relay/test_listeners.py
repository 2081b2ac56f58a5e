"""Listeners over WebSocket and SSE on /listen/{key}: events, routing, secrets, resume."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.relay.clients import sse_listener, ws_listener
from tests.relay.harness import Node


async def test_ws_and_sse_listeners_get_each_event(node: Node) -> None:
    source = await node.create_source()
    async with (
        ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws,
        sse_listener(f"{node.url}/listen/{source['key']}") as sse,
    ):
        sent = await node.ingest(
            source["id"],
            b'{"action": "rampto", "intensity": 100}',
            path="/orders/created",
            query="a=1&b=1&b=2",
            headers={"Content-Type": "application/json", "X-Test": "yes"},
        )
        for got in (await ws.event(), await sse.event()):
            assert got["id"] == sent["id"]
            assert got["method"] == "POST"
            assert got["path"] == "/orders/created"
            assert got["query"] == {"a": "1", "b": ["1", "2"]}
            assert got["headers"]["x-test"] == "yes"
            assert got["body"] == {"action": "rampto", "intensity": 100}
            assert base64.b64decode(got["rawBody"]) == b'{"action": "rampto", "intensity": 100}'
            assert got["receivedAt"].endswith("Z")
            assert got["replyId"] is None


async def test_events_of_other_sources_are_not_delivered(node: Node) -> None:
    mine, other = await node.create_source(), await node.create_source()
    async with ws_listener(f"{node.ws_url}/listen/{mine['key']}") as ws:
        await node.ingest(other["id"], b'{"n": "other"}')
        last = await node.ingest(mine["id"], b'{"n": "mine"}')
        assert (await ws.event())["id"] == last["id"]


async def test_routing_by_key_delivers_only_to_matching_listeners(node: Node) -> None:
    source = await node.create_source(routeKeyPath="headers['X-Device-Id']")
    url = f"{node.ws_url}/listen/{source['key']}"
    async with (
        ws_listener(f"{url}?key=aaa&key=end") as by_query,
        ws_listener(url) as by_frame,
        ws_listener(f"{url}?key=end") as end_only,
    ):
        answer = await by_frame.send({"type": "subscribe", "data": {"$keys": ["bbb", "end"]}})
        assert answer == {"type": "subscribed", "keys": ["bbb", "end"]}
        events = {}
        for key in ("aaa", "bbb", "ccc", "end"):
            events[key] = await node.ingest(source["id"], route_key=key)

        async def received(listener) -> list[str]:
            ids = []
            while not ids or ids[-1] != events["end"]["id"]:
                ids.append((await listener.event())["id"])
            return ids

        assert await received(by_query) == [events["aaa"]["id"], events["end"]["id"]]
        assert await received(by_frame) == [events["bbb"]["id"], events["end"]["id"]]
        assert await received(end_only) == [events["end"]["id"]]


async def test_single_key_subscription_and_bad_frames(node: Node) -> None:
    source = await node.create_source(routeKeyPath="query.homey")
    async with ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws:
        assert await ws.send({"type": "subscribe", "data": {"$key": 42}}) == {
            "type": "subscribed",
            "keys": ["42"],
        }
        bad = await ws.send({"type": "subscribe", "data": {"$keys": "not-a-list"}})
        assert bad["type"] == "error" and bad["code"] == "bad_request"
        await ws.conn.send("not json")
        assert (await ws.frame())["code"] == "bad_request"
        assert (await ws.send({"type": "nope"}))["code"] == "bad_request"
        assert await ws.send({"type": "ping"}) == {"type": "pong"}
        sent = await node.ingest(source["id"], route_key="42")
        assert (await ws.event())["id"] == sent["id"]


async def test_listen_secret(node: Node) -> None:
    source = await node.create_source(listenSecret="s3cret-listen")
    url = f"{node.ws_url}/listen/{source['key']}"
    for bad in ("", "?secret=wrong-secret"):
        with pytest.raises(InvalidStatus) as info:
            async with ws_listener(url + bad):
                pass
        assert info.value.response.status_code == 401
    async with httpx.AsyncClient() as client:
        denied = await client.get(
            f"{node.url}/listen/{source['key']}", headers={"authorization": "Bearer nope"}
        )
        assert denied.status_code == 401
        assert denied.json()["code"] == "authentication_failed"
    async with (
        ws_listener(url + "?secret=s3cret-listen") as by_query,
        ws_listener(url, additional_headers={"Authorization": "Bearer s3cret-listen"}) as by_header,
        sse_listener(f"{node.url}/listen/{source['key']}", {"authorization": "Bearer s3cret-listen"}) as sse,
    ):
        sent = await node.ingest(source["id"])
        for listener in (by_query, by_header, sse):
            assert (await listener.event())["id"] == sent["id"]


async def test_unknown_key_and_bad_paths(node: Node) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with ws_listener(f"{node.ws_url}/listen/no-such-key"):
            pass
    assert info.value.response.status_code == 404
    async with httpx.AsyncClient(base_url=node.url) as client:
        assert (await client.get("/listen/no-such-key")).status_code == 404
        assert (await client.get("/listen/a/b")).status_code == 404
        source = await node.create_source()
        assert (await client.post(f"/listen/{source['key']}")).status_code == 405
        bad_since = await client.get(f"/listen/{source['key']}?since=evt_nonsense")
        assert bad_since.status_code == 400


async def test_ws_resume_delivers_missed_events_exactly_once(node: Node) -> None:
    source = await node.create_source()
    url = f"{node.ws_url}/listen/{source['key']}"
    async with ws_listener(url) as ws:
        first = await node.ingest(source["id"], b'{"n": 1}')
        assert (await ws.event())["id"] == first["id"]
    missed = [await node.ingest(source["id"], f'{{"n": {n}}}'.encode()) for n in (2, 3, 4)]
    # Stored but published only after the listener is back: it is in the database *and* in the queue.
    straddling = await node.store_event(source["id"], b'{"n": 5}')
    async with ws_listener(f"{url}?since={first['id']}") as ws:
        assert ws.ready["since"] == first["id"]
        await node.runtime.relay.publish(source["id"], None, straddling)
        live = await node.ingest(source["id"], b'{"n": 6}')
        got = [(await ws.event())["id"] for _ in range(5)]
        assert got == [e["id"] for e in [*missed, straddling, live]]
        # Nothing is sent twice: the next event is the next one ingested.
        after = await node.ingest(source["id"], b'{"n": 7}')
        assert (await ws.event())["id"] == after["id"]


async def test_sse_resume_with_last_event_id(node: Node) -> None:
    source = await node.create_source(routeKeyPath="query.homey")
    first = await node.ingest(source["id"], route_key="h1")
    await node.ingest(source["id"], route_key="other-homey")
    missed = await node.ingest(source["id"], route_key="h1")
    url = f"{node.url}/listen/{source['key']}?key=h1"
    async with sse_listener(url, {"last-event-id": first["id"]}) as sse:
        message = await sse.message()
        assert message["id"] == missed["id"]
        assert json.loads(message["data"])["id"] == missed["id"]
        live = await node.ingest(source["id"], route_key="h1")
        assert (await sse.event())["id"] == live["id"]


async def test_resume_on_a_routed_source_uses_the_keys_of_the_subscribe_frame(node: Node) -> None:
    source = await node.create_source(routeKeyPath="body.device")
    first = await node.ingest(source["id"], route_key="d1")
    await node.ingest(source["id"], route_key="d2")
    missed = await node.ingest(source["id"], route_key="d1")
    async with ws_listener(f"{node.ws_url}/listen/{source['key']}?since={first['id']}") as ws:
        assert await ws.send({"type": "subscribe", "data": {"$keys": ["d1"]}}) == {
            "type": "subscribed",
            "keys": ["d1"],
        }
        assert (await ws.event())["id"] == missed["id"]
        live = await node.ingest(source["id"], route_key="d1")
        assert (await ws.event())["id"] == live["id"]
