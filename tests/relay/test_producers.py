"""Listener → producer messages (XToys outbound): only when the source allows listeners to publish."""

from __future__ import annotations

import asyncio
import json

from tests.relay.clients import ws_listener
from tests.relay.harness import Node


async def test_listener_messages_reach_the_producers(node: Node) -> None:
    source = await node.create_source(listenersMayPublish=True)
    received: asyncio.Queue[str] = asyncio.Queue()
    sync_received: list[str] = []
    unregister = await node.runtime.relay.add_producer(source["id"], received.put)
    unregister_sync = await node.runtime.relay.add_producer(source["id"], sync_received.append)
    try:
        async with ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws:
            answer = await ws.send({"type": "publish", "data": {"action": "vibrate", "intensity": 40}})
            assert answer == {"type": "published"}
            text = await asyncio.wait_for(received.get(), 10)
            assert json.loads(text) == {"action": "vibrate", "intensity": 40}
            assert sync_received == [text]
            unregister_sync()
            assert await ws.send({"type": "publish", "data": "plain text"}) == {"type": "published"}
            assert await asyncio.wait_for(received.get(), 10) == "plain text"
            assert sync_received == [text]
    finally:
        unregister()


async def test_publishing_is_refused_unless_the_source_allows_it(node: Node) -> None:
    source = await node.create_source()
    received: list[str] = []
    unregister = await node.runtime.relay.add_producer(source["id"], received.append)
    try:
        async with ws_listener(f"{node.ws_url}/listen/{source['key']}") as ws:
            answer = await ws.send({"type": "publish", "data": {"action": "x"}})
            assert answer["type"] == "error" and answer["code"] == "insufficient_access"
        assert received == []
    finally:
        unregister()
