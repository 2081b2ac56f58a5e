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
