"""Listeners last only as long as the credentials they connected with: deleting the source,
rotating its ingest key (after the grace period) or changing its listen secret disconnects them
with close code 1008, and the old credentials no longer connect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import InvalidStatus

from tests.relay.clients import sse_listener, ws_listener
from tests.relay.e2e import create_source, ingest_url, post
from tests.support.server import ServerProcess

REVOKED = 1008


def _key_of(ingest_url_value: str) -> str:
    return urlsplit(ingest_url_value).path.rsplit("/", 1)[-1]


# Sync fixtures: creating a PostgreSQL database runs its own event loop.
@pytest.fixture
def checks_on_change(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A long periodic check: only the API's own immediate check can close listeners in a test."""
    return make_server({"HOOKHUB_LISTENER_RECHECK_SECONDS": "300"})


@pytest.fixture
def checks_often(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    return make_server({"HOOKHUB_LISTENER_RECHECK_SECONDS": "0.3"})


async def test_deleting_the_source_disconnects_ws_and_sse_listeners_at_once(
    checks_on_change: ServerProcess,
) -> None:
    server = checks_on_change
    source = create_source(server)
    async with ws_listener(source["listenWs"]) as ws, sse_listener(source["listenSse"]) as sse:
        with server.client() as api:
            assert api.delete(f"/ingest/api/v1/source/{source['id']}").status_code == 204
        assert await ws.close_code(5) == REVOKED
        with pytest.raises(EOFError):
            await sse.event(timeout=5)
    with pytest.raises(InvalidStatus) as denied:
        async with ws_listener(source["listenWs"]):
            pass
    assert denied.value.response.status_code == 404


async def test_rotating_the_key_disconnects_old_key_listeners_once_the_grace_is_over(
    checks_often: ServerProcess,
) -> None:
    server = checks_often
    source = create_source(server)
    rotate = f"/ingest/api/v1/source/{source['id']}/token/rotate"
    async with ws_listener(source["listenWs"]) as on_old_key:
        with server.client() as api:
            rotated = api.post(rotate, json={"gracePeriodSeconds": 2}).json()
        new_key = _key_of(rotated["ingestUrl"])
        started = time.monotonic()
        # During the grace period the old key still works, for listeners too.
        sent = await post(f"{server.url}/webhook/{new_key}", json={"during": "grace"})
        assert sent.status_code == 200
        assert (await on_old_key.event())["body"] == {"during": "grace"}
        # Checked in the same sweeps as the old key, the new key's listener must stay.
        async with ws_listener(f"ws://127.0.0.1:{server.port}/listen/{new_key}") as on_new_key:
            assert await on_old_key.close_code(10) == REVOKED
            assert time.monotonic() - started >= 1.5
            await asyncio.sleep(0.7)  # two more sweeps
            sent = await post(f"{server.url}/webhook/{new_key}", json={"after": "grace"})
            assert (await on_new_key.event())["body"] == {"after": "grace"}
    async with ws_listener(f"ws://127.0.0.1:{server.port}/listen/{new_key}") as on_new_key:
        with server.client() as api:
            api.post(rotate, json={"gracePeriodSeconds": 0})
        assert await on_new_key.close_code(5) == REVOKED


async def test_changing_the_listen_secret_disconnects_and_only_the_new_secret_connects(
    checks_on_change: ServerProcess,
) -> None:
    server = checks_on_change
    source = create_source(server, settings={"listenSecret": "first-secret"})
    async with ws_listener(source["listenWs"] + "?secret=first-secret") as ws:
        with server.client() as api:
            changed = api.put(
                f"/ingest/api/v1/source/{source['id']}",
                json={"name": "relay e2e", "settings": {"listenSecret": "second-secret"}},
            )
        assert changed.status_code == 200, changed.text
        assert await ws.close_code(5) == REVOKED
    with pytest.raises(InvalidStatus) as denied:
        async with ws_listener(source["listenWs"] + "?secret=first-secret"):
            pass
    assert denied.value.response.status_code == 401
    async with ws_listener(source["listenWs"] + "?secret=second-secret") as ws:
        assert (await post(ingest_url(server, source), json={"n": 1})).status_code == 200
        assert (await ws.event())["body"] == {"n": 1}
