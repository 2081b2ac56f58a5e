"""The engine's pure parts (signing, retry maths, SSRF decisions) and the queue's claim, on a
real database with rows inserted directly."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from hookhub import ids
from hookhub.delivery import queue
from hookhub.delivery.host_slots import HostSlots
from hookhub.delivery.retry import MAX_RETRY_AFTER_SECONDS, next_delay, parse_retry_after
from hookhub.delivery.signing import signed_headers, signing_keys
from hookhub.delivery.ssrf import destination_url, refusal_reason, url_refusal
from hookhub.store.db import Database
from hookhub.store.tables import application, delivery, endpoint, message
from hookhub.store.types import utcnow

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


# ---- signing ---------------------------------------------------------------------------------


def test_signature_matches_the_standard_webhooks_library():
    body = '{"caf\u00e9": 1}'.encode()
    now = datetime.now(UTC)
    headers = signed_headers(
        [signing_keys(SECRET, [], now)[0]], "msg_1", int(now.timestamp()), body, svix_names=False
    )
    expected = standardwebhooks.Webhook(SECRET).sign("msg_1", now, body.decode())
    assert headers["webhook-signature"] == expected
    assert standardwebhooks.Webhook(SECRET).verify(body, headers) == {"caf\u00e9": 1}


def test_expired_previous_secrets_no_longer_sign():
    now = datetime.now(UTC)
    other = "whsec_" + base64.b64encode(b"x" * 24).decode()
    live = {"key": other, "expiresAt": (now + timedelta(hours=1)).isoformat()}
    dead = {"key": other, "expiresAt": (now - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")}
    assert len(signing_keys(SECRET, [live], now)) == 2
    assert len(signing_keys(SECRET, [dead], now)) == 1


# ---- retry maths -----------------------------------------------------------------------------


def test_schedule_then_exhaustion():
    delays = (0.0, 5.0, 300.0)
    rng = random.Random(7)
    assert 4.5 <= next_delay(1, delays, rng=rng) <= 5.5  # second attempt: 5 s +/- 10 %
    assert 270 <= next_delay(2, delays, rng=rng) <= 330
    assert next_delay(3, delays, rng=rng) is None  # three attempts in all


def test_retry_after_within_bounds():
    delays = (0.0, 1.0, 1.0)
    assert next_delay(1, delays, retry_after=30.0) == 30.0
    assert next_delay(1, delays, retry_after=MAX_RETRY_AFTER_SECONDS + 1) <= 1.1  # ignored
    assert next_delay(3, delays, retry_after=5.0) is None  # never extends the schedule
    assert parse_retry_after("120") == 120.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60.0
    assert parse_retry_after("soon") is None


# ---- connection slots per host ---------------------------------------------------------------


def test_host_slots_bound_each_host_and_forget_idle_ones():
    async def run() -> None:
        slots = HostSlots(2)
        assert await slots.acquire("a", 1) and await slots.acquire("a", 1)
        assert await slots.acquire("b", 1)  # another host is not held up
        assert not await slots.acquire("a", 0.01)  # full: the bounded wait gives up, holding nothing
        waiter = asyncio.ensure_future(slots.acquire("a", 30))
        await asyncio.sleep(0)
        slots.release("a")
        assert await waiter  # the freed slot went to the waiter
        for key in ("a", "a", "b"):
            slots.release(key)
        assert len(slots) == 0

    asyncio.run(run())


# ---- SSRF decisions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-global"),
    ],
)
def test_private_addresses_are_refused(address, kind):
    reason = refusal_reason(ipaddress.ip_address(address), ())
    assert reason is not None and kind in reason


def test_allowed_networks_and_public_addresses_pass():
    allowed = (ipaddress.ip_network("10.0.0.0/8"),)
    assert refusal_reason(ipaddress.ip_address("10.9.9.9"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("8.8.8.8"), ()) is None
    assert url_refusal(destination_url("http://example.com/"), ()) is None  # names: the resolver's job
    assert url_refusal(destination_url("http://[::1]/"), ()) is not None


# ---- the queue -------------------------------------------------------------------------------


def _seed(database_url: str, count: int, endpoint_url: str = "http://127.0.0.1:9/") -> list[str]:
    async def run() -> list[str]:
        db = Database(database_url)
        try:
            await db.migrate()
            now = utcnow()
            app_id, ep_id = ids.new_id("app"), ids.new_id("ep")
            rows = []
            async with db.write() as conn:
                await conn.execute(
                    application.insert().values(
                        id=app_id, name="q", metadata={}, created_at=now, updated_at=now
                    )
                )
                await conn.execute(
                    endpoint.insert().values(
                        id=ep_id,
                        app_id=app_id,
                        url=endpoint_url,
                        description="",
                        version=1,
                        disabled=False,
                        metadata={},
                        headers={},
                        secret=SECRET,
                        previous_secrets=[],
                        created_at=now,
                        updated_at=now,
                    )
                )
                for i in range(count):
                    msg_id = ids.new_id("msg")
                    await conn.execute(
                        message.insert().values(
                            id=msg_id, app_id=app_id, event_type="q.t", payload=f'{{"i":{i}}}', created_at=now
                        )
                    )
                    rows.append(
                        {
                            "id": ids.new_id("dlv"),
                            "endpoint_id": ep_id,
                            "message_id": msg_id,
                            "status": "pending",
                            "attempt_count": 0,
                            "created_at": now,
                            "updated_at": now,
                            # one row not due yet
                            "next_attempt_at": now + timedelta(hours=1) if i == 0 else now,
                        }
                    )
                await conn.execute(delivery.insert(), rows)
            return [row["id"] for row in rows]
        finally:
            await db.close()

    return asyncio.run(run())


def test_claim_leases_due_rows_once_and_takes_back_expired_leases(make_database):
    url = make_database()
    row_ids = _seed(url, 11)

    async def run() -> None:
        db = Database(url)
        try:
            # Two claimers at once never share a row; the not-yet-due row stays.
            a, b = await asyncio.gather(
                queue.claim(db, "worker-a", 6, lease_seconds=60),
                queue.claim(db, "worker-b", 6, lease_seconds=60),
            )
            claimed = [c.id for c in a + b]
            assert len(claimed) == len(set(claimed)) == 10
            assert row_ids[0] not in claimed
            assert await queue.claim(db, "worker-c", 10, lease_seconds=60) == []
            # A dead worker's lease passes: its rows come back to whoever claims next.
            async with db.write() as conn:
                await conn.execute(
                    delivery.update()
                    .where(delivery.c.worker_id == "worker-a")
                    .values(lease_expires_at=utcnow() - timedelta(seconds=1))
                )
            assert await queue.claim(db, "worker-c", 20, lease_seconds=60) == []  # not before reclaim
            assert await queue.reclaim_expired(db) == len(a)
            again = await queue.claim(db, "worker-c", 20, lease_seconds=60)
            assert {c.id for c in again} == {c.id for c in a}
            # Graceful release puts rows back, due at once.
            await queue.release(db, "worker-b", [c.id for c in b])
            released = await queue.claim(db, "worker-d", 20, lease_seconds=60)
            assert {c.id for c in released} == {c.id for c in b}
            # Prepare reloads the body from the message.
            jobs, skipped = await queue.prepare(db, released, utcnow())
            assert not skipped and all(job.body.startswith(b'{"i":') for job in jobs)
        finally:
            await db.close()

    asyncio.run(run())
