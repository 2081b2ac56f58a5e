"""PostgreSQL wake-ups survive a lost LISTEN connection: the worker reconnects by itself."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from svix.api import MessageIn

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.support.databases import BACKEND

LISTENERS = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'"


def _listener_pids(database_url: str) -> list[int]:
    async def run() -> list[int]:
        conn = await asyncpg.connect(database_url)
        try:
            return [row["pid"] for row in await conn.fetch(LISTENERS, database_url.rpartition("/")[2])]
        finally:
            await conn.close()

    return asyncio.run(run())


def _terminate(database_url: str, pids: list[int]) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for pid in pids:
                await conn.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY exists only on PostgreSQL")
def test_worker_listens_again_after_its_connection_is_killed(make_server, make_receiver):
    srv = make_server()
    receiver = make_receiver()
    before = _listener_pids(srv.database_url)
    assert before, "the server should hold a LISTEN connection"
    _terminate(srv.database_url, before)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        after = _listener_pids(srv.database_url)
        if after and not set(after) & set(before):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("no new LISTEN connection after the old one was terminated")

    client = svix_client(srv)
    app_id, _ = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="listen.t", payload={"ok": True}))
    assert receiver.wait_for(1)[0].webhook_id == msg.id
