"""Expired events are cleaned up; throttling is shared by nodes through Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import redis

from hookhub.config import Settings
from hookhub.inbound import store
from hookhub.inbound.settings import parse_settings
from hookhub.runtime import Runtime
from hookhub.store.retention import RetentionCleaner
from hookhub.store.tables import event
from hookhub.store.types import utcnow
from tests.support.server import ServerProcess


def test_retention_cleaner_deletes_only_expired_events(make_database: Callable[[], str]) -> None:
    database_url = make_database()

    async def scenario() -> list[str]:
        runtime = Runtime(Settings(database_url=database_url))
        await runtime.db.migrate()
        now = utcnow()
        async with runtime.db.write() as conn:
            row = await store.insert(
                conn,
                {
                    "name": "r",
                    "type": "generic-webhook",
                    "config": {},
                    "metadata": {},
                    "uid": None,
                    "settings": parse_settings({}),
                },
            )
            for event_id, expires in [
                ("evt_old", now - timedelta(seconds=1)),
                ("evt_new", now + timedelta(days=1)),
            ]:
                await conn.execute(
                    event.insert().values(
                        id=event_id,
                        source_id=row.id,
                        method="POST",
                        path="",
                        query="",
                        headers={},
                        body=b"x",
                        received_at=now,
                        expires_at=expires,
                    )
                )
        cleaned = await RetentionCleaner(runtime.db).clean()
        assert cleaned.events == 1
        async with runtime.db.read() as conn:
            left = list((await conn.execute(event.select())).all())
        await runtime.db.close()
        return [r.id for r in left]

    assert asyncio.run(scenario()) == ["evt_new"]


def test_throttle_is_shared_through_redis(
    make_server: Callable[..., ServerProcess], make_database: Callable[[], str]
) -> None:
    database = make_database()
    env = {"HOOKHUB_REDIS_URL": "redis://127.0.0.1:6379/0"}
    first = make_server(env, database_url=database)
    second = make_server(env, database_url=database)
    with first.client() as api:
        created = api.post(
            "/ingest/api/v1/source",
            json={"name": "t", "settings": {"throttle": {"limit": 10, "periodSeconds": 60}}},
        )
    key = created.json()["ingestUrl"].rsplit("/", 1)[1]
    codes = [httpx.post(f"{first.url}/webhook/{key}", json={}).status_code for _ in range(6)]
    codes += [httpx.post(f"{second.url}/webhook/{key}", json={}).status_code for _ in range(5)]
    assert codes == [200] * 10 + [429]


def test_a_high_limit_is_leased_to_nodes_in_parts_and_still_holds(
    make_server: Callable[..., ServerProcess], make_database: Callable[[], str]
) -> None:
    """Above 50 requests per node per window a node takes requests from Redis a lease at a time:
    fewer Redis calls than requests, and the limit still holds across the nodes."""
    database = make_database()
    # A Redis database of its own: the lease size counts the nodes that throttled lately.
    env = {"HOOKHUB_REDIS_URL": "redis://127.0.0.1:6379/12"}
    shared = redis.Redis.from_url(env["HOOKHUB_REDIS_URL"])
    shared.flushdb()
    first = make_server(env, database_url=database)
    second = make_server(env, database_url=database)
    with first.client() as api:
        created = api.post(
            "/ingest/api/v1/source",
            json={"name": "t", "settings": {"throttle": {"limit": 400, "periodSeconds": 300}}},
        ).json()
    key = created["ingestUrl"].rsplit("/", 1)[1]
    with httpx.Client() as client:
        codes = [
            client.post(f"{server.url}/webhook/{key}", json={}).status_code
            for _ in range(250)
            for server in (first, second)
        ]
    assert codes.count(200) == 400  # both nodes spend their leases to the end: exactly the limit
    assert set(codes[400:]) == {429}
    try:
        leases = shared.zcard(f"hookhub:throttle:{created['id']}")
    finally:
        shared.close()
    assert 0 < leases <= 400 // 2  # at least two requests per Redis call


def test_source_changes_reach_other_nodes_through_redis(
    make_server: Callable[..., ServerProcess], make_database: Callable[[], str]
) -> None:
    database = make_database()
    # A cache that would otherwise trust its copy for an hour: only Redis can tell it.
    env = {"HOOKHUB_REDIS_URL": "redis://127.0.0.1:6379/0", "HOOKHUB_SOURCE_CACHE_SECONDS": "3600"}
    first = make_server(env, database_url=database)
    second = make_server(env, database_url=database)
    with first.client() as api:
        created = api.post("/ingest/api/v1/source", json={"name": "n"}).json()
        old_key = created["ingestUrl"].rsplit("/", 1)[1]
        assert httpx.post(f"{second.url}/webhook/{old_key}", json={}).status_code == 200  # now cached there
        rotated = api.post(f"/ingest/api/v1/source/{created['id']}/token/rotate").json()
    new_key = rotated["ingestUrl"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 10
    while httpx.post(f"{second.url}/webhook/{old_key}", json={}).status_code != 404:
        assert time.monotonic() < deadline, "the other node kept serving the rotated key"
        time.sleep(0.05)
    assert httpx.post(f"{second.url}/webhook/{new_key}", json={}).status_code == 200
