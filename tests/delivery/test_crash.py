"""At-least-once under crashes, graceful release on SIGTERM, and several workers sharing the queue."""

from __future__ import annotations

import signal
import time

import pytest
from svix.api import MessageIn

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Reply
from tests.delivery.workers import WorkerProcess
from tests.support.databases import BACKEND

# A short timeout keeps the lease (timeout + 6 s) short, so a dead worker's rows return quickly.
ENV = {"HOOKHUB_REQUEST_TIMEOUT_SECONDS": "1", "HOOKHUB_RETRY_SCHEDULE": "0,0.2,0.2,0.2"}


def _send(client, app_id: str, count: int) -> set[str]:
    return {
        client.message.create(app_id, MessageIn(event_type="crash.t", payload={"i": i})).id
        for i in range(count)
    }


def test_sigkill_mid_delivery_loses_nothing(make_server, make_receiver, tmp_path):
    # Each request takes 0.8 s to answer (under the 1 s timeout): the kill lands mid-request.
    receiver = make_receiver(default=Reply(200, delay=0.8))
    api = make_server(ENV, "--no-worker")
    client = svix_client(api)
    app_id, _ = app_with_endpoint(client, receiver.url)
    sent = _send(client, app_id, 30)

    doomed = WorkerProcess(api, tmp_path, "doomed")
    receiver.wait_for(3)
    doomed.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    cut_off = {r.webhook_id for r in receiver.requests}
    survivor = WorkerProcess(api, tmp_path, "survivor")
    try:
        receiver.wait_until(
            lambda got: sent <= {r.webhook_id for r in got if r.at > killed_at}, timeout=60, what="all 30"
        )
    finally:
        survivor.stop()
    # Nothing lost: every message arrived after the restart, including those cut off mid-request.
    assert cut_off and cut_off <= sent
    assert {r.webhook_id for r in receiver.requests} == sent


def test_sigterm_finishes_in_flight_work(make_server, make_receiver, tmp_path):
    receiver = make_receiver(default=Reply(200, delay=0.2))
    api = make_server(ENV, "--no-worker")
    client = svix_client(api)
    app_id, _ = app_with_endpoint(client, receiver.url)
    sent = _send(client, app_id, 40)
    worker = WorkerProcess(api, tmp_path, "a")
    receiver.wait_for(2, timeout=30)
    assert worker.stop() == 0, worker.log()
    replacement = WorkerProcess(api, tmp_path, "b")
    try:
        receiver.wait_until(
            lambda got: sent <= {r.webhook_id for r in got}, timeout=30, what="all 40 messages"
        )
    finally:
        replacement.stop()
    # In-flight requests were allowed to finish and were recorded: none was sent twice.
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 40


@pytest.mark.skipif(BACKEND != "postgresql", reason="several worker processes need PostgreSQL (SKIP LOCKED)")
def test_two_workers_share_the_queue_without_double_sends(make_server, make_receiver, tmp_path):
    receiver = make_receiver(default=Reply(200, delay=0.01))
    api = make_server(ENV, "--no-worker")
    client = svix_client(api)
    app_id, _ = app_with_endpoint(client, receiver.url)
    workers = [WorkerProcess(api, tmp_path, name) for name in ("a", "b")]
    try:
        sent = _send(client, app_id, 150)
        receiver.wait_until(lambda got: sent <= {r.webhook_id for r in got}, timeout=60, what="150 messages")
    finally:
        for worker in workers:
            assert worker.stop() == 0, worker.log()
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 150


def test_a_send_slower_than_the_lease_keeps_its_lease(make_server, make_receiver):
    # Each answer takes 3 s, more than the 1.5 s lease: the worker renews its leases while the
    # sends are in flight, so nobody takes the rows again and each message is sent once.
    receiver = make_receiver(default=Reply(200, delay=3))
    api = make_server({"HOOKHUB_REQUEST_TIMEOUT_SECONDS": "10", "HOOKHUB_DELIVERY_LEASE_SECONDS": "1.5"})
    client = svix_client(api)
    app_id, _ = app_with_endpoint(client, receiver.url)
    sent = _send(client, app_id, 5)
    receiver.wait_until(lambda got: sent <= {r.webhook_id for r in got}, timeout=30, what="all 5")
    time.sleep(4)  # long enough for a lost lease to have been taken and the row sent again
    ids = [r.webhook_id for r in receiver.requests]
    assert sorted(ids) == sorted(sent)


def test_a_send_cancelled_at_shutdown_is_recorded(make_server, make_receiver, tmp_path):
    # The receiver holds each request longer than the worker's shutdown grace, within the timeout.
    receiver = make_receiver(default=Reply(200, delay=6))
    env = {
        "HOOKHUB_REQUEST_TIMEOUT_SECONDS": "10",
        "HOOKHUB_SHUTDOWN_GRACE_SECONDS": "1",
        "HOOKHUB_RETRY_SCHEDULE": "0,0.2",
    }
    api = make_server(env, "--no-worker")
    client = svix_client(api)
    app_id, _ = app_with_endpoint(client, receiver.url)
    [msg_id] = _send(client, app_id, 1)
    worker = WorkerProcess(api, tmp_path, "a")
    receiver.wait_for(1)
    assert worker.stop() == 0, worker.log()
    with api.client() as http:
        attempts = http.get(f"/api/v1/app/{app_id}/attempt/msg/{msg_id}?with_content=true").json()["data"]
    assert [a["responseStatusCode"] for a in attempts] == [0]
    assert "shut down" in attempts[0]["response"]
