"""Recover, replays and purges are Svix background tasks: started by the API, run by a worker,
resumed by another worker after a restart, listed and read through the official svix SDK."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from svix.api import MessageIn, RecoverIn, Svix, SvixOptions
from svix.api.background_task import BackgroundTaskListOptions
from svix.exceptions import HttpError

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Reply
from tests.delivery.workers import WorkerProcess
from tests.support.waiting import wait_for


def test_a_task_is_stored_until_a_worker_runs_it(make_server, make_receiver, tmp_path):
    receiver = make_receiver(default=Reply(500))
    # No worker in the API process: the task is only run by the workers started below.
    api = make_server({"HOOKHUB_RETRY_SCHEDULE": "0"}, "--no-worker")
    client = svix_client(api)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    since = datetime.now(UTC) - timedelta(minutes=1)
    sent = {
        client.message.create(app_id, MessageIn(event_type="t.rec", payload={"i": i})).id for i in range(3)
    }
    first = WorkerProcess(api, tmp_path, "first")
    try:
        receiver.wait_for(3)
        wait_for(lambda: client.endpoint.get_stats(app_id, ep_id).fail == 3, what="three failed")
    finally:
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    receiver.default = Reply(200)
    task = client.endpoint.recover(app_id, ep_id, RecoverIn(since=since))
    assert str(task.status) == "running"
    # Nobody runs it yet: it stays running, stored.
    assert str(client.background_task.get(task.id).status) == "running"

    second = WorkerProcess(api, tmp_path, "second")
    try:
        done = wait_for(lambda: (t := client.background_task.get(task.id)).status == "finished" and t, 30)
        assert done.data == {"messagesSent": 3}
        receiver.wait_until(lambda got: sent <= {r.webhook_id for r in got[3:]}, what="all three again")
    finally:
        second.stop()
    listed = client.background_task.list(BackgroundTaskListOptions(task="endpoint.recover"))
    assert task.id in [t.id for t in listed.data]


def test_an_app_token_sees_its_own_tasks_only(server, make_receiver):
    client = svix_client(server)
    mine, _ = app_with_endpoint(client, make_receiver().url)
    other, _ = app_with_endpoint(client, make_receiver().url)
    own = client.message.expunge_all_contents(mine)
    foreign = client.message.expunge_all_contents(other)
    with server.client() as http:
        portal = http.post(f"/api/v1/auth/app-portal-access/{mine}", json={}).json()
    app_client = Svix(portal["token"], SvixOptions(server_url=server.url))
    assert app_client.background_task.get(own.id).id == own.id
    with pytest.raises(HttpError) as refused:
        app_client.background_task.get(foreign.id)
    assert refused.value.status_code == 404
    ids = [t.id for t in app_client.background_task.list().data]
    assert own.id in ids and foreign.id not in ids


def test_an_unknown_task_is_a_404(api: httpx.Client):
    missing = api.get("/api/v1/background-task/qtask_missing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
