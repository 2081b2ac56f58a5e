"""Two nodes on one database and one Redis: events, replies and producer messages cross nodes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import redis.asyncio as aioredis

from tests.relay.clients import sse_listener, ws_listener
from tests.relay.harness import Node, redis_url, running_node

REDIS_DB = 7


@pytest.fixture(scope="module")
async def nodes(relay_database: str) -> AsyncIterator[tuple[Node, Node]]:
    url = redis_url(REDIS_DB)
    client = aioredis.from_url(url)
    await client.flushdb()
    await client.aclose()
    async with running_node(relay_database, url) as first, running_node(relay_database, url) as second:
        yield first, second


async def test_listener_on_one_node_gets_events_ingested_on_the_other(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    source = await a.create_source(routeKeyPath="query.homey")
    async with (
        ws_listener(f"{a.ws_url}/listen/{source['key']}?key=h1") as ws,
        sse_listener(f"{a.url}/listen/{source['key']}?key=h1") as sse,
    ):
        await b.ingest(source["id"], route_key="h2")
        sent = await b.ingest(source["id"], route_key="h1")
        assert (await ws.event())["id"] == sent["id"]
        assert (await sse.event())["id"] == sent["id"]


async def test_reply_crosses_nodes_and_only_the_first_wins(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    source = await a.create_source()
    reply_id = "rpl_" + secrets.token_urlsafe(24)
    async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws:
        await b.ingest(source["id"], reply_id=reply_id)
        waiting = asyncio.create_task(b.runtime.relay.wait_reply(reply_id, 10))
        assert (await ws.event())["replyId"] == reply_id
        answer = await ws.send({"type": "reply", "replyId": reply_id, "status": 201, "body": "from a"})
        assert answer["type"] == "replied"
    reply = await waiting
    assert reply is not None and (reply.status, reply.body) == (201, b"from a")
    async with httpx.AsyncClient() as client:
        for node in (a, b):
            late = await client.post(f"{node.url}/ingest/api/v1/reply/{reply_id}", json={"body": "late"})
            assert late.status_code == 409


async def test_listener_messages_reach_producers_on_the_other_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    source = await a.create_source(listenersMayPublish=True)
    received: asyncio.Queue[str] = asyncio.Queue()
    unregister = await b.runtime.relay.add_producer(source["id"], received.put)
    try:
        async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws:
            assert await ws.send({"type": "publish", "data": {"action": "pulse"}}) == {"type": "published"}
            assert await asyncio.wait_for(received.get(), 10) == '{"action":"pulse"}'
    finally:
        unregister()


async def test_health_reports_redis(nodes: tuple[Node, Node]) -> None:
    async with httpx.AsyncClient() as client:
        health = (await client.get(f"{nodes[0].url}/api/v1/health")).json()
    assert health["components"]["redis"] == "ok"


async def test_listeners_are_caught_up_from_the_log_after_the_redis_subscription_is_lost(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    source = await a.create_source()
    async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws:
        seen = await b.ingest(source["id"])
        assert (await ws.event())["id"] == seen["id"]
        # Cut node a's subscription (only its own connection: it has a name of its own).
        admin = aioredis.from_url(redis_url(REDIS_DB))
        for client in await admin.client_list():
            if client["name"] == a.runtime.relay.bus.client_name and "subscribe" in client["cmd"]:
                await admin.client_kill_filter(_id=client["id"])
        await admin.aclose()
        # Events published while a is not subscribed are lost on the channel; a catches its
        # listener up from the event log once it is subscribed again: each event exactly once.
        sent = [(await b.ingest(source["id"]))["id"] for _ in range(5)]
        got = [(await ws.event(timeout=20))["id"] for _ in sent]
        assert sorted(got) == sorted(sent)
        later = await b.ingest(source["id"])
        assert (await ws.event(timeout=20))["id"] == later["id"]


async def test_a_node_subscribes_to_a_source_only_while_it_listens_to_it(nodes: tuple[Node, Node]) -> None:
    """Events travel on a channel per source: a node without listeners of a source gets none."""
    a, b = nodes
    source = await a.create_source()
    channel = f"hookhub:relay:source:{source['id']}"
    admin = aioredis.from_url(redis_url(REDIS_DB))

    async def subscribers() -> int:
        return dict(await admin.pubsub_numsub(channel))[channel.encode()]

    try:
        assert await subscribers() == 0
        async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws:
            async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as second:
                assert await subscribers() == 1  # node a, once for both of its listeners
                sent = await b.ingest(source["id"])
                assert (await ws.event())["id"] == sent["id"]
                assert (await second.event())["id"] == sent["id"]
            assert await subscribers() == 1  # one listener left
        for _ in range(100):
            if await subscribers() == 0:
                break
            await asyncio.sleep(0.05)
        assert await subscribers() == 0
    finally:
        await admin.aclose()


async def _received_on(channel: str, during: Callable[[], Awaitable[object]]) -> int:
    """How many messages Redis carried on ``channel`` while ``during`` ran."""
    admin = aioredis.from_url(redis_url(REDIS_DB))
    pubsub = admin.pubsub()
    await pubsub.subscribe(channel)
    try:
        await during()
        count = 0
        while (message := await pubsub.get_message(timeout=0.5)) is not None:
            count += message["type"] == "message"
        return count
    finally:
        await pubsub.aclose()
        await admin.aclose()


async def _audience_known(node: Node) -> None:
    for _ in range(100):
        if node.runtime.relay.bus.audience_known:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the node never heard whom the others listen for")


async def test_events_nobody_listens_to_are_not_published(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    source = await a.create_source()
    channel = f"hookhub:relay:source:{source['id']}"
    await _audience_known(b)

    async def ingest_three() -> None:
        for _ in range(3):
            await b.ingest(source["id"])

    assert await _received_on(channel, ingest_three) == 0
    async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws:
        for _ in range(100):  # a says it listens within a heartbeat; b then publishes
            if b.runtime.relay.bus.wanted_elsewhere(source["id"]):
                break
            await asyncio.sleep(0.05)
        sent: dict[str, str] = {}

        async def ingest_one() -> None:
            sent.update(await b.ingest(source["id"]))

        assert await _received_on(channel, ingest_one) == 1
        assert (await ws.event())["id"] == sent["id"]


async def test_a_listener_elsewhere_gets_the_events_skipped_before_its_node_was_heard(
    nodes: tuple[Node, Node],
) -> None:
    """The race: b skips an event of a source just as a listener of it arrives on a. b learns of
    the listener from a's next heartbeat and sends a gap notice; a catches its listener up."""
    a, b = nodes
    source = await a.create_source()
    await _audience_known(b)
    async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws:
        b.runtime.relay.bus.forget_audience()  # as if a's announcement had not reached b yet
        skipped = await b.ingest(source["id"])
        assert (await ws.event(timeout=10))["id"] == skipped["id"]
        later = await b.ingest(source["id"])
        assert (await ws.event(timeout=10))["id"] == later["id"]
