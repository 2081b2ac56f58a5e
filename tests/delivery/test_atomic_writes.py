"""Each write path commits together or not at all, on both backends: a message or an inbound event
and its pending deliveries; an attempt and its delivery's new state.

A database trigger fails the second half of each write (the deliveries insert, the delivery's
update); afterwards nothing of the first half may remain, and once the fault is gone the client's
retry (same ``eventId``) is accepted and delivered.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import sqlalchemy as sa

from hookhub.store.db import Database
from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Reply
from tests.support.databases import BACKEND

ENV = {"HOOKHUB_REQUEST_TIMEOUT_SECONDS": "1", "HOOKHUB_RETRY_SCHEDULE": "0,0.2,0.2"}

_INSERT_FAULT = {
    "sqlite": [
        "CREATE TRIGGER hookhub_fault BEFORE INSERT ON delivery BEGIN SELECT RAISE(ABORT, 'fault'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION hookhub_fault() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$",
        "CREATE TRIGGER hookhub_fault BEFORE INSERT ON delivery FOR EACH ROW "
        "EXECUTE FUNCTION hookhub_fault()",
    ],
}
# The claim sets status 'sending'; recording a result sets anything else.
_RECORD_FAULT = {
    "sqlite": [
        "CREATE TRIGGER hookhub_fault BEFORE UPDATE OF status ON delivery WHEN NEW.status != 'sending' "
        "BEGIN SELECT RAISE(ABORT, 'fault'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION hookhub_fault() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$",
        "CREATE TRIGGER hookhub_fault BEFORE UPDATE ON delivery FOR EACH ROW "
        "WHEN (NEW.status <> 'sending') EXECUTE FUNCTION hookhub_fault()",
    ],
}
_CLEAR_FAULT = {
    "sqlite": ["DROP TRIGGER hookhub_fault"],
    "postgresql": ["DROP TRIGGER hookhub_fault ON delivery", "DROP FUNCTION hookhub_fault()"],
}


def _sql(database_url: str, statements: list[str]) -> None:
    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.write() as conn:
                for statement in statements:
                    await conn.exec_driver_sql(statement)
        finally:
            await db.close()

    asyncio.run(run())


def _count(database_url: str, sql: str, **params: object) -> int:
    async def run() -> int:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return int(await conn.scalar(sa.text(sql), params))
        finally:
            await db.close()

    return asyncio.run(run())


def test_a_message_is_stored_with_its_deliveries_or_not_at_all(make_server, make_receiver):
    receiver = make_receiver()
    server = make_server(ENV)
    app_id, _ = app_with_endpoint(svix_client(server), receiver.url)
    body = {"eventType": "atomic.t", "eventId": "evt-atomic-1", "payload": {"n": 1}}

    _sql(server.database_url, _INSERT_FAULT[BACKEND])
    with server.client() as api:
        failed = api.post(f"/api/v1/app/{app_id}/msg", json=body)
        assert failed.status_code >= 500, failed.text
        # Nothing half-written: no message without its deliveries.
        assert (
            _count(server.database_url, "SELECT count(*) FROM message WHERE event_id = :e", e="evt-atomic-1")
            == 0
        )

        _sql(server.database_url, _CLEAR_FAULT[BACKEND])
        # The client's retry with the same eventId is accepted (not a 409) and delivered.
        retried = api.post(f"/api/v1/app/{app_id}/msg", json=body)
        assert retried.status_code == 202, retried.text
    [got] = receiver.wait_for(1)
    assert got.webhook_id == retried.json()["id"]


def test_an_inbound_event_is_stored_with_its_deliveries_or_not_at_all(make_server, make_receiver):
    receiver = make_receiver()
    server = make_server(ENV)
    with server.client() as api:
        source = api.post("/ingest/api/v1/source", json={"name": "atomic"}).json()
        dest = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": receiver.url})
        assert dest.status_code in (200, 201), dest.text

        _sql(server.database_url, _INSERT_FAULT[BACKEND])
        failed = httpx.post(source["ingestUrl"], json={"n": 1})
        assert failed.status_code >= 500, failed.text
        assert (
            _count(server.database_url, "SELECT count(*) FROM event WHERE source_id = :s", s=source["id"])
            == 0
        )

        _sql(server.database_url, _CLEAR_FAULT[BACKEND])
        accepted = httpx.post(source["ingestUrl"], json={"n": 2})
        assert accepted.status_code == 200, accepted.text
    [got] = receiver.wait_for(1)
    assert got.body == b'{"n":2}' or got.body == b'{"n": 2}'


def test_an_attempt_is_recorded_with_its_delivery_state_or_not_at_all(make_server, make_receiver):
    receiver = make_receiver(default=Reply(200))
    server = make_server(ENV)
    client = svix_client(server)
    app_id, _ = app_with_endpoint(client, receiver.url)

    _sql(server.database_url, _RECORD_FAULT[BACKEND])
    with server.client() as api:
        msg = api.post(f"/api/v1/app/{app_id}/msg", json={"eventType": "atomic.t", "payload": {}}).json()
        receiver.wait_for(1)
        # The result cannot be recorded while the fault lasts: no attempt row may appear without
        # the delivery's new state. (Watch for a while: recording follows the send.)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert (
                _count(server.database_url, "SELECT count(*) FROM attempt WHERE message_id = :m", m=msg["id"])
                == 0
            )
            time.sleep(0.1)

        _sql(server.database_url, _CLEAR_FAULT[BACKEND])
        deadline = time.monotonic() + 30
        while True:
            attempts = api.get(f"/api/v1/app/{app_id}/attempt/msg/{msg['id']}").json()["data"]
            if any(a["responseStatusCode"] == 200 for a in attempts) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert any(a["responseStatusCode"] == 200 for a in attempts), attempts
    # The result was kept and recorded once the database took it: the message was sent once.
    assert [r.webhook_id for r in receiver.requests] == [msg["id"]]
    # Every recorded attempt is counted on its delivery.
    recorded = _count(server.database_url, "SELECT count(*) FROM attempt WHERE message_id = :m", m=msg["id"])
    counted = _count(
        server.database_url,
        "SELECT coalesce(sum(attempt_count), 0) FROM delivery WHERE message_id = :m",
        m=msg["id"],
    )
    assert recorded == counted
