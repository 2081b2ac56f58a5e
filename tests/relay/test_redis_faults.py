"""Two nodes whose Redis stalls or goes away: requests stay fast, every node relays alone
meanwhile, listeners on other nodes are caught up once it is back, the shared throttle holds.

The nodes reach the machine's Redis through a loopback proxy that the test makes stall (what
SIGSTOP does to the server) or refuse connections (tests/support/tcp_proxy.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from tests.relay.clients import ws_listener
from tests.relay.harness import Node, redis_url, running_node
from tests.support.tcp_proxy import TcpProxy

REDIS_DB = 8


@pytest.fixture
async def proxied_nodes(relay_database: str) -> AsyncIterator[tuple[Node, Node, TcpProxy]]:
    admin = aioredis.from_url(redis_url(REDIS_DB))
    await admin.flushdb()
    await admin.aclose()
    with TcpProxy(6379) as proxy:
        url = redis_url(REDIS_DB).replace(":6379/", f":{proxy.port}/")
        async with running_node(relay_database, url) as first, running_node(relay_database, url) as second:
            yield first, second, proxy


async def _post(client: httpx.AsyncClient, node: Node, key: str, n: int) -> httpx.Response:
    # A stalled Redis must cost a request milliseconds: give each one a tight deadline.
    return await client.post(f"{node.url}/webhook/{key}", json={"n": n}, timeout=3)


async def test_listeners_elsewhere_get_every_event_ingested_while_redis_stalls(proxied_nodes, caplog) -> None:
    a, b, proxy = proxied_nodes
    source = await a.create_source()
    async with (
        ws_listener(f"{b.ws_url}/listen/{source['key']}") as remote,
        ws_listener(f"{a.ws_url}/listen/{source['key']}") as local,
        httpx.AsyncClient() as client,
    ):
        first = await _post(client, a, source["key"], 0)
        assert (await remote.event())["id"] == first.headers["x-hookhub-event-id"]
        assert (await local.event())["id"] == first.headers["x-hookhub-event-id"]

        proxy.stall()
        sent = []
        for n in range(1, 11):
            answer = await _post(client, a, source["key"], n)
            assert answer.status_code == 200, answer.text
            sent.append(answer.headers["x-hookhub-event-id"])
            await asyncio.sleep(0.3)
        # Node a relays alone meanwhile: its own listener got every event at once.
        assert [(await local.event())["id"] for _ in sent] == sent
        proxy.heal()

        # Node b's listener missed them on the channel; b catches it up from the event log.
        got = [(await remote.event(timeout=30))["id"] for _ in sent]
        assert sorted(got) == sorted(sent)
        after = await _post(client, a, source["key"], 99)
        assert (await remote.event(timeout=10))["id"] == after.headers["x-hookhub-event-id"]
        await remote.nothing_more()
    assert not [r for r in caplog.records if r.exc_info], "tracebacks logged during the outage"


async def test_the_shared_throttle_holds_while_redis_is_away(proxied_nodes) -> None:
    a, b, proxy = proxied_nodes
    source = await a.create_source(throttle={"limit": 10, "periodSeconds": 120})
    accepted = 0
    async with httpx.AsyncClient() as client:

        async def burst(count: int) -> int:
            answers = [await _post(client, node, source["key"], i) for i in range(count) for node in (a, b)]
            assert {r.status_code for r in answers} <= {200, 429}
            return sum(r.status_code == 200 for r in answers)

        accepted += await burst(2)  # both nodes ingest: Redis counts two of them
        assert accepted == 4
        proxy.refuse()
        # Alone, each node admits its share of the limit (10 / 2), counting what it admitted before.
        accepted += await burst(20)
        assert accepted == 10
        proxy.heal()
        await asyncio.sleep(1.5)  # past the circuit's cool-down: each node has seen Redis back
        # What the nodes admitted alone is in the shared window now: nothing more this period.
        accepted += await burst(20)
    assert accepted == 10


async def test_a_reply_reaches_a_request_waiting_on_the_same_node_without_redis(proxied_nodes) -> None:
    a, _b, proxy = proxied_nodes
    source = await a.create_source(reply={"wait": True, "timeoutSeconds": 10})
    async with ws_listener(f"{a.ws_url}/listen/{source['key']}") as ws, httpx.AsyncClient() as client:
        proxy.refuse()
        waiting = asyncio.create_task(client.post(f"{a.url}/webhook/{source['key']}", json={}, timeout=15))
        event = await ws.event()
        answer = await ws.send({"type": "reply", "replyId": event["replyId"], "status": 201, "body": "ok"})
        assert answer["type"] == "replied", answer
        response = await waiting
    assert (response.status_code, response.text) == (201, "ok")


@pytest.fixture(autouse=True)
def _warnings_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
