"""Flow control toward endpoints: a 429/503 with Retry-After pauses the whole endpoint, across
worker processes, without slowing the others or counting the held deliveries as attempts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from svix.api import MessageAttemptListByMsgOptions, MessageIn

from hookhub.delivery import flow
from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Reply
from tests.delivery.workers import WorkerProcess
from tests.support.databases import BACKEND

ENV = {"HOOKHUB_RETRY_SCHEDULE": "0,0.2,0.2,0.2", "HOOKHUB_REQUEST_TIMEOUT_SECONDS": "5"}


def _workers(make_server, tmp_path, env=ENV):
    """The API, and the processes that deliver: on PostgreSQL two ``hookhub worker`` processes
    (the pause must hold across them), on SQLite the server's own worker."""
    if BACKEND != "postgresql":
        return make_server(env), []
    api = make_server(env, "--no-worker")
    return api, [WorkerProcess(api, tmp_path, name) for name in ("a", "b")]


def _attempts(client, app_id: str, msg_id: str, want: int, timeout: float = 30.0):
    options = MessageAttemptListByMsgOptions()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.message_attempt.list_by_msg(app_id, msg_id, options).data
        if len(data) >= want:
            return data
        time.sleep(0.05)
    raise AssertionError(f"no {want} attempts for {msg_id}")


def _send(client, app_id: str, count: int) -> list[str]:
    return [
        client.message.create(app_id, MessageIn(event_type="flow.t", payload={"i": i})).id
        for i in range(count)
    ]


def test_retry_after_pauses_the_whole_endpoint_then_everything_arrives(make_server, make_receiver, tmp_path):
    paused = make_receiver().reply_with(Reply(429, headers={"Retry-After": "2"}))
    api, workers = _workers(make_server, tmp_path)
    try:
        client = svix_client(api)
        app_id, _ = app_with_endpoint(client, paused.url)
        (first,) = _send(client, app_id, 1)
        (attempt,) = _attempts(client, app_id, first, 1)
        assert attempt.response_status_code == 429
        answered_at = paused.requests[0].at
        # Sent once the pause is recorded (it is written before the attempt): all wait it out.
        later = _send(client, app_id, 5)
        got = paused.wait_until(
            lambda got: {first, *later} <= {r.webhook_id for r in got[1:]}, timeout=60, what="all 6"
        )
    finally:
        for worker in workers:
            worker.stop()
    # Nothing arrived during the pause (it began after the 429 reached the receiver).
    assert all(r.at >= answered_at + 2 for r in got[1:]), [r.at - answered_at for r in got]
    # Nothing lost or doubled: the 429'd message twice (its two attempts), the others once.
    assert sorted(r.webhook_id for r in got) == sorted([first, first, *later])
    for msg_id in later:  # held, not failed: one attempt each, the successful one
        (only,) = _attempts(client, app_id, msg_id, 1)
        assert int(only.status) == 0


def test_a_paused_endpoint_does_not_slow_the_others(make_server, make_receiver, tmp_path):
    """503 with Retry-After as an HTTP date; held deliveries gain no attempts while paused."""
    until = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    paused = make_receiver().reply_with(Reply(503, headers={"Retry-After": until}))
    other = make_receiver()
    api, workers = _workers(make_server, tmp_path)
    try:
        client = svix_client(api)
        paused_app, _ = app_with_endpoint(client, paused.url)
        other_app, _ = app_with_endpoint(client, other.url)
        (first,) = _send(client, paused_app, 1)
        _attempts(client, paused_app, first, 1)
        held = _send(client, paused_app, 5)
        flowing = _send(client, other_app, 20)
        other.wait_until(lambda got: set(flowing) <= {r.webhook_id for r in got}, timeout=30, what="20")
        assert len(paused.requests) == 1
        for msg_id in held:
            assert client.message_attempt.list_by_msg(paused_app, msg_id).data == []
    finally:
        for worker in workers:
            worker.stop()


def test_pause_is_bounded_and_only_for_429_and_503():
    assert flow.pause_for(429, 2.0, 3600) == 2.0
    assert flow.pause_for(503, 7200.0, 3600) == 3600
    assert flow.pause_for(500, 2.0, 3600) is None
    assert flow.pause_for(429, None, 3600) is None
    assert flow.pause_for(429, 0.0, 3600) is None
    assert flow.pause_for(429, 5.0, 0) is None  # pausing turned off


def test_max_in_flight_holds_across_workers_and_loses_nothing(make_server, make_receiver, tmp_path):
    """Two ``hookhub worker`` processes on PostgreSQL (the server's own worker on SQLite) never
    have more than maxInFlight requests open to the endpoint; an unlimited one beside it is not
    held back to that."""
    limited = make_receiver(default=Reply(200, delay=0.2))
    unlimited = make_receiver(default=Reply(200, delay=0.2))
    api, workers = _workers(make_server, tmp_path)
    try:
        client = svix_client(api)
        limited_app, endpoint_id = app_with_endpoint(client, limited.url)
        unlimited_app, _ = app_with_endpoint(client, unlimited.url)
        with api.client() as http:  # a hookhub field: the svix SDK's models do not carry it
            patched = http.patch(f"/api/v1/app/{limited_app}/endpoint/{endpoint_id}", json={"maxInFlight": 2})
            assert patched.status_code == 200 and patched.json()["maxInFlight"] == 2
        sent = _send(client, limited_app, 30)
        free = _send(client, unlimited_app, 30)
        limited.wait_until(lambda got: set(sent) <= {r.webhook_id for r in got}, timeout=60, what="30")
        unlimited.wait_until(lambda got: set(free) <= {r.webhook_id for r in got}, timeout=60, what="30")
    finally:
        for worker in workers:
            worker.stop()
    assert limited.most_in_flight == 2  # reached, never passed
    assert unlimited.most_in_flight > 2
    assert sorted(r.webhook_id for r in limited.requests) == sorted(sent)  # each exactly once


def test_max_in_flight_is_checked_and_can_be_cleared(server):
    client = svix_client(server)
    app_id, endpoint_id = app_with_endpoint(client, "https://example.com/hook")
    path = f"/api/v1/app/{app_id}/endpoint/{endpoint_id}"
    with server.client() as http:
        for bad in (0, -1, 10_001, "two", 1.5):
            answer = http.patch(path, json={"maxInFlight": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["code"] == "validation"
        assert http.get(path).json()["maxInFlight"] is None  # nothing half-written
        created = http.post(
            f"/api/v1/app/{app_id}/endpoint", json={"url": "https://example.com/b", "maxInFlight": 5}
        ).json()
        assert created["maxInFlight"] == 5
        assert http.patch(path, json={"maxInFlight": 3}).json()["maxInFlight"] == 3
        assert http.patch(path, json={"maxInFlight": None}).json()["maxInFlight"] is None
