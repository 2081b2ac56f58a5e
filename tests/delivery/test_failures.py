"""Failing receivers: retries on the configured schedule, Retry-After, timeouts, refused
connections, 410 Gone, and the operational webhooks they cause."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import standardwebhooks
from svix.api import MessageAttemptListByMsgOptions, MessageIn

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Receiver, Reply
from tests.support.server import ServerProcess, free_port
from tests.support.waiting import wait_for

SCHEDULE = (0.0, 0.3, 0.3)
OPS_SECRET = "whsec_b3BlcmF0b3Itc2VjcmV0LWtleS0xMjM0NQ=="


@pytest.fixture(scope="module")
def ops_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def srv(make_database, tmp_path_factory, ops_receiver) -> Iterator[ServerProcess]:
    env = {
        "HOOKHUB_RETRY_SCHEDULE": ",".join(str(s) for s in SCHEDULE),
        "HOOKHUB_REQUEST_TIMEOUT_SECONDS": "1",
        "HOOKHUB_OPERATIONAL_WEBHOOK_URL": ops_receiver.url,
        "HOOKHUB_OPERATIONAL_WEBHOOK_SECRET": OPS_SECRET,
    }
    proc = ServerProcess(make_database(), tmp_path_factory.mktemp("failures"), env).start()
    yield proc
    proc.stop()


def attempts_of(client, app_id: str, msg_id: str):
    """Attempts of a message, oldest first."""
    out = client.message_attempt.list_by_msg(
        app_id, msg_id, MessageAttemptListByMsgOptions(with_content=True)
    )
    return list(reversed(out.data))


def delivery_status(client, app_id: str, msg_id: str) -> int:
    (dest,) = client.message_attempt.list_attempted_destinations(app_id, msg_id).data
    return int(dest.status)


def ops_events(ops: Receiver, event_type: str, key: str, value: str) -> list[dict]:
    found = []
    for req in ops.requests:
        body = standardwebhooks.Webhook(OPS_SECRET).verify(req.body, req.headers)
        if body["type"] == event_type and body["data"].get(key) == value:
            found.append(body)
    return found


def test_500_is_retried_on_schedule_until_success(srv, make_receiver):
    receiver = make_receiver().reply_with(Reply(500, body=b"boom"), Reply(502))
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.retry", payload={"x": 1}))

    got = receiver.wait_for(3)
    # Each retry waited at least its scheduled delay (less the 10 % jitter).
    assert got[1].at - got[0].at >= SCHEDULE[1] * 0.9
    assert got[2].at - got[1].at >= SCHEDULE[2] * 0.9
    assert {r.webhook_id for r in got} == {msg.id}
    wait_for(lambda: delivery_status(client, app_id, msg.id) == 0, what="success")
    attempts = attempts_of(client, app_id, msg.id)
    assert [a.response_status_code for a in attempts] == [500, 502, 200]
    assert [int(a.status) for a in attempts] == [2, 2, 0]
    assert attempts[0].response == "boom"
    assert all(int(a.trigger_type) == 0 and a.endpoint_id == ep_id for a in attempts)
    stats = client.endpoint.get_stats(app_id, ep_id)
    assert (stats.success, stats.fail, stats.pending) == (1, 0, 0)


def test_exhausted_after_the_schedule(srv, make_receiver, ops_receiver):
    receiver = make_receiver(default=Reply(500))
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.fail", payload={"x": 2}))

    wait_for(lambda: delivery_status(client, app_id, msg.id) == 2, what="failed status")
    assert len(receiver.requests) == len(SCHEDULE)
    attempts = attempts_of(client, app_id, msg.id)
    assert [a.response_status_code for a in attempts] == [500] * len(SCHEDULE)
    (exhausted,) = wait_for(lambda: ops_events(ops_receiver, "message.attempt.exhausted", "msgId", msg.id))
    assert exhausted["data"]["endpointId"] == ep_id
    assert exhausted["data"]["lastAttempt"]["id"] == attempts[-1].id
    # "failing" was announced at the third failure
    wait_for(lambda: ops_events(ops_receiver, "message.attempt.failing", "msgId", msg.id))


def test_timeout_counts_as_a_failed_attempt(srv, make_receiver):
    receiver = make_receiver().reply_with(Reply(200, delay=2.5))
    client = svix_client(srv)
    app_id, _ = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.slow", payload={"x": 3}))

    wait_for(lambda: delivery_status(client, app_id, msg.id) == 0, what="success after a timeout")
    first, second = attempts_of(client, app_id, msg.id)
    assert first.response_status_code == 0 and int(first.status) == 2
    assert "Timed out" in first.response
    assert second.response_status_code == 200


def test_connection_refused(srv):
    client = svix_client(srv)
    app_id, _ = app_with_endpoint(client, f"http://127.0.0.1:{free_port()}/nobody")
    msg = client.message.create(app_id, MessageIn(event_type="t.refused", payload={"x": 4}))

    wait_for(lambda: delivery_status(client, app_id, msg.id) == 2, what="failed status")
    attempts = attempts_of(client, app_id, msg.id)
    assert len(attempts) == len(SCHEDULE)
    assert all(a.response_status_code == 0 and "Connection failed" in a.response for a in attempts)


def test_410_disables_the_endpoint(srv, make_receiver, ops_receiver):
    receiver = make_receiver(default=Reply(410))
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.gone", payload={"x": 5}))

    wait_for(lambda: client.endpoint.get(app_id, ep_id).disabled, what="endpoint disabled")
    assert delivery_status(client, app_id, msg.id) == 2
    assert len(receiver.requests) == 1
    (event,) = wait_for(lambda: ops_events(ops_receiver, "endpoint.disabled", "endpointId", ep_id))
    assert event["data"]["appId"] == app_id


def test_429_retry_after_is_honoured(srv, make_receiver):
    receiver = make_receiver().reply_with(Reply(429, headers={"Retry-After": "2"}))
    client = svix_client(srv)
    app_id, _ = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.busy", payload={"x": 6}))

    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 1.9  # Retry-After (2 s) beat the 0.3 s schedule
    wait_for(lambda: delivery_status(client, app_id, msg.id) == 0, what="success")
    assert [a.response_status_code for a in attempts_of(client, app_id, msg.id)] == [429, 200]


def test_endpoint_failing_too_long_is_disabled(make_server, make_receiver):
    receiver = make_receiver(default=Reply(500))
    srv = make_server(
        {"HOOKHUB_DISABLE_ENDPOINT_AFTER_SECONDS": "1", "HOOKHUB_RETRY_SCHEDULE": "0,0.6,0.6,0.6,0.6"}
    )
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.down", payload={"x": 7}))

    wait_for(lambda: client.endpoint.get(app_id, ep_id).disabled, what="endpoint disabled")
    wait_for(lambda: delivery_status(client, app_id, msg.id) == 2, what="delivery given up")
    # Disabled once failing for a second: the third attempt (≈ 1.2 s in), not the fifth.
    assert len(receiver.requests) < 5


def test_failing_then_recovered_operational_webhooks(make_server, make_receiver):
    ops = make_receiver()
    receiver = make_receiver().reply_with(Reply(500), Reply(500), Reply(503))
    srv = make_server(
        {
            "HOOKHUB_RETRY_SCHEDULE": "0,0.2,0.2,0.2,0.2",
            "HOOKHUB_OPERATIONAL_WEBHOOK_URL": ops.url,
            "HOOKHUB_OPERATIONAL_WEBHOOK_SECRET": OPS_SECRET,
        }
    )
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="t.flaky", payload={"x": 8}))

    wait_for(lambda: delivery_status(client, app_id, msg.id) == 0, what="success on the fourth attempt")
    (failing,) = wait_for(lambda: ops_events(ops, "message.attempt.failing", "msgId", msg.id))
    (recovered,) = wait_for(lambda: ops_events(ops, "message.attempt.recovered", "msgId", msg.id))
    attempts = attempts_of(client, app_id, msg.id)
    assert [a.response_status_code for a in attempts] == [500, 500, 503, 200]
    assert failing["data"]["lastAttempt"]["id"] == attempts[2].id
    assert recovered["data"]["lastAttempt"]["id"] == attempts[3].id
    assert recovered["data"]["endpointId"] == ep_id
    assert not ops_events(ops, "message.attempt.exhausted", "msgId", msg.id)


def _queued_operational(database_url: str) -> list[tuple[str, int]]:
    """(event type, tries so far) of the operational webhooks still queued."""
    import asyncio

    import sqlalchemy as sa

    from hookhub.store.db import Database
    from hookhub.store.tables import operational_webhook

    async def read() -> list[tuple[str, int]]:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                query = sa.select(operational_webhook.c.event_type, operational_webhook.c.attempt_count)
                return [tuple(row) for row in (await conn.execute(query)).all()]
        finally:
            await db.close()

    return asyncio.run(read())


def test_operational_webhook_retried_until_the_operator_takes_it(make_server, make_receiver):
    """The operator's URL fails twice: the webhooks are tried again, each with its own unchanging
    webhook-id and body, until it takes them."""
    ops = make_receiver().reply_with(Reply(500), Reply(503))
    srv = make_server(
        {
            "HOOKHUB_RETRY_SCHEDULE": "0,0.2,0.2,0.2",
            "HOOKHUB_OPERATIONAL_WEBHOOK_URL": ops.url,
            "HOOKHUB_OPERATIONAL_WEBHOOK_SECRET": OPS_SECRET,
        }
    )
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, make_receiver(default=Reply(410)).url)
    client.message.create(app_id, MessageIn(event_type="t.gone", payload={"x": 9}))

    # 410: the endpoint is disabled and the message exhausted, two webhooks; two tries fail.
    ops.wait_for(4)
    wait_for(lambda: _queued_operational(srv.database_url) == [], what="the webhooks leave the queue")
    tries: dict[str, list[bytes]] = {}
    for req in ops.requests:
        standardwebhooks.Webhook(OPS_SECRET).verify(req.body, req.headers)
        tries.setdefault(req.headers["webhook-id"], []).append(req.body)
    assert sorted(len(bodies) for bodies in tries.values()) in ([1, 3], [2, 2])
    assert all(len(set(bodies)) == 1 for bodies in tries.values())
    kinds = {json.loads(bodies[0])["type"] for bodies in tries.values()}
    assert kinds == {"endpoint.disabled", "message.attempt.exhausted"}
    assert ops_events(ops, "endpoint.disabled", "endpointId", ep_id)
    assert len(ops.requests) == 4


def test_operational_webhook_survives_a_killed_worker(make_server, make_receiver, make_database):
    """Queued while the operator's URL is down, the process killed: the next start sends it."""
    database_url = make_database()
    down = f"http://127.0.0.1:{free_port()}/ops"  # nothing listens there
    env = {
        "HOOKHUB_RETRY_SCHEDULE": "0,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
        "HOOKHUB_OPERATIONAL_WEBHOOK_SECRET": OPS_SECRET,
    }
    first = make_server({**env, "HOOKHUB_OPERATIONAL_WEBHOOK_URL": down}, database_url=database_url)
    client = svix_client(first)
    app_id, ep_id = app_with_endpoint(client, make_receiver(default=Reply(410)).url)
    client.message.create(app_id, MessageIn(event_type="t.gone", payload={"x": 10}))
    wait_for(
        lambda: any(
            kind == "endpoint.disabled" and tries >= 1 for kind, tries in _queued_operational(database_url)
        ),
        what="a failed try of the queued webhook",
    )
    first.kill()

    ops = make_receiver()
    make_server({**env, "HOOKHUB_OPERATIONAL_WEBHOOK_URL": ops.url}, database_url=database_url)
    (event,) = wait_for(lambda: ops_events(ops, "endpoint.disabled", "endpointId", ep_id))
    assert event["data"]["appId"] == app_id
    wait_for(lambda: _queued_operational(database_url) == [], what="the queue emptied")
