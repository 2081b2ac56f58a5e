"""Two ``hookhub serve`` processes on one database and one Redis act as one relay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.relay.clients import ws_listener
from tests.relay.e2e import create_source, ingest_url, post
from tests.relay.harness import redis_url
from tests.support.server import ServerProcess

REDIS_DB = 8


@pytest.fixture(scope="module")
def cluster(
    make_database: Callable[[], str], session_dir: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Started once for the module: a server takes seconds to start, the tests milliseconds."""
    url = redis_url(REDIS_DB)
    redis.Redis.from_url(url).flushdb()
    database = make_database()
    # No periodic listener check within a test: what crosses nodes goes through Redis.
    env = {"HOOKHUB_REDIS_URL": url, "HOOKHUB_LISTENER_RECHECK_SECONDS": "300"}
    first = ServerProcess(database, session_dir, env).start()
    second = ServerProcess(database, session_dir, env)
    second.token = first.token
    try:
        second.start()
        yield first, second
    finally:
        first.stop()
        second.stop()


async def test_listener_on_one_node_gets_events_ingested_on_the_other(
    cluster: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = cluster
    source = create_source(a, settings={"routeKeyPath": "query.homey"})
    async with ws_listener(source["listenWs"] + "?key=h1") as ws:
        assert (await post(ingest_url(b, source) + "?homey=h2", json={"n": 1})).status_code == 200
        assert (await post(ingest_url(b, source) + "?homey=h1", json={"n": 2})).status_code == 200
        event = await ws.event()
        assert event["body"] == {"n": 2}


async def test_reply_reaches_the_node_holding_the_caller(
    cluster: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = cluster
    source = create_source(a, settings={"reply": {"wait": True, "timeoutSeconds": 20}})
    async with ws_listener(source["listenWs"]) as ws:
        caller = asyncio.create_task(post(ingest_url(b, source), json={"ask": "a"}))
        reply_id = (await ws.event())["replyId"]
        answered = await post(
            f"{a.url}/ingest/api/v1/reply/{reply_id}", json={"status": 201, "body": "from a"}
        )
        assert answered.status_code == 202
        response = await caller
        assert (response.status_code, response.text) == (201, "from a")
        for node in (a, b):
            late = await post(f"{node.url}/ingest/api/v1/reply/{reply_id}", json={"body": "late"})
            assert late.status_code == 409


async def test_deleting_a_source_on_one_node_disconnects_its_listeners_on_the_other(
    cluster: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = cluster
    source = create_source(a)
    listen_on_b = source["listenWs"].replace(f":{a.port}/", f":{b.port}/")
    async with ws_listener(listen_on_b) as ws:
        with a.client() as api:
            assert api.delete(f"/ingest/api/v1/source/{source['id']}").status_code == 204
        assert await ws.close_code(5) == 1008
