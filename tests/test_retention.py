"""The retention cleaner removes expired message payloads and Idempotency-Keys, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.retention import Cleaned, RetentionCleaner
from hookhub.store.tables import idempotency_key, message
from hookhub.store.types import utcnow
from tests.support.server import ServerProcess


def _age(database_url: str, statements: list[sa.Executable]) -> None:
    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.write() as conn:
                for statement in statements:
                    await conn.execute(statement)
        finally:
            await db.close()

    asyncio.run(run())


def _clean(database_url: str) -> Cleaned:
    async def run() -> Cleaned:
        db = Database(database_url)
        try:
            return await RetentionCleaner(db).clean()
        finally:
            await db.close()

    return asyncio.run(run())


def test_expired_payloads_and_keys_go_the_rest_stays(
    make_server: Callable[..., ServerProcess], make_database: Callable[[], str]
) -> None:
    database_url = make_database()
    server = make_server({}, "--no-worker", database_url=database_url)
    with server.client() as api:
        app = api.post("/api/v1/app", json={"name": "retention"}).json()
        old = api.post(f"/api/v1/app/{app['id']}/msg", json={"eventType": "a.b", "payload": {"n": 1}}).json()
        young = api.post(
            f"/api/v1/app/{app['id']}/msg", json={"eventType": "a.b", "payload": {"n": 2}}
        ).json()
        keyed = api.post(
            f"/api/v1/app/{app['id']}/msg",
            json={"eventType": "a.b", "payload": {"n": 3}},
            headers={"Idempotency-Key": "retention-key"},
        )
        assert keyed.status_code == 202

        past = utcnow() - timedelta(seconds=1)
        _age(
            database_url,
            [
                message.update().where(message.c.id == old["id"]).values(payload_expires_at=past),
                idempotency_key.update().values(expires_at=past),
            ],
        )
        cleaned = _clean(database_url)
        assert (cleaned.message_payloads, cleaned.idempotency_keys, cleaned.events) == (1, 1, 0)

        expired = api.get(f"/api/v1/app/{app['id']}/msg/{old['id']}").json()
        kept = api.get(f"/api/v1/app/{app['id']}/msg/{young['id']}").json()
        assert expired["id"] == old["id"] and expired["payload"] == {"expired": True}  # as Svix
        assert kept["payload"] == {"n": 2}

        # The key is forgotten: the same request is now a new message, not a replay.
        again = api.post(
            f"/api/v1/app/{app['id']}/msg",
            json={"eventType": "a.b", "payload": {"n": 3}},
            headers={"Idempotency-Key": "retention-key"},
        )
        assert again.status_code == 202
        assert again.json()["id"] != keyed.json()["id"]
        assert _clean(database_url).message_payloads == 0
