"""The attempts API and endpoint operations, through the official svix SDK."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
from svix.api import (
    EndpointIn,
    EventExampleIn,
    EventTypeIn,
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageIn,
    RecoverIn,
    ReplayIn,
)
from svix.api.message_attempt import MessageAttemptListAttemptedMessagesOptions
from svix.models import BulkReplayIn

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Reply
from tests.support.waiting import wait_for


def test_attempt_lists_get_and_destinations(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="att.list", payload={"a": 1}))
    receiver.wait_for(1)

    options = MessageAttemptListByMsgOptions(with_content=True)
    (attempt,) = wait_for(lambda: client.message_attempt.list_by_msg(app_id, msg.id, options).data)
    assert attempt.msg_id == msg.id and attempt.endpoint_id == ep_id
    assert attempt.url == receiver.url and attempt.response == "ok"
    assert (
        attempt.response_status_code == 200 and int(attempt.status) == 0 and attempt.id.startswith("atmpt_")
    )
    by_endpoint = client.message_attempt.list_by_endpoint(
        app_id, ep_id, MessageAttemptListByEndpointOptions(with_msg=True)
    )
    assert [a.id for a in by_endpoint.data] == [attempt.id]
    assert by_endpoint.data[0].msg is not None and by_endpoint.data[0].msg.event_type == "att.list"
    assert client.message_attempt.get(app_id, msg.id, attempt.id).id == attempt.id

    (dest,) = client.message_attempt.list_attempted_destinations(app_id, msg.id).data
    assert dest.id == ep_id and int(dest.status) == 0 and dest.url == receiver.url
    sent = client.message_attempt.list_attempted_messages(
        app_id, ep_id, MessageAttemptListAttemptedMessagesOptions(with_content=True)
    ).data
    assert [(m.id, int(m.status), m.payload) for m in sent] == [(msg.id, 0, {"a": 1})]
    attempt_stats = client.endpoint.get_attempt_stats(app_id, ep_id)
    assert (attempt_stats.success, attempt_stats.fail) == (1, 0)


def test_resend_is_a_manual_attempt(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="att.resend", payload={"r": 1}))
    receiver.wait_for(1)
    wait_for(lambda: client.message_attempt.list_by_msg(app_id, msg.id).data, what="first attempt")
    client.message_attempt.resend(app_id, msg.id, ep_id)
    second = receiver.wait_for(2)[1]
    assert second.webhook_id == msg.id
    attempts = wait_for(lambda: len(d := client.message_attempt.list_by_msg(app_id, msg.id).data) == 2 and d)
    assert [int(a.trigger_type) for a in attempts] == [1, 0]  # newest first


def test_recover_resends_only_failed_messages(make_server, make_receiver):
    srv = make_server({"HOOKHUB_RETRY_SCHEDULE": "0"})
    receiver = make_receiver().reply_with(Reply(500))
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    since = datetime.now(UTC) - timedelta(minutes=1)
    failed = client.message.create(app_id, MessageIn(event_type="att.rec", payload={"n": 1}))
    receiver.wait_for(1)
    ok = client.message.create(app_id, MessageIn(event_type="att.rec", payload={"n": 2}))
    receiver.wait_for(2)
    wait_for(lambda: client.endpoint.get_stats(app_id, ep_id).fail == 1, what="one failed")

    task = client.endpoint.recover(app_id, ep_id, RecoverIn(since=since))
    assert str(task.task) == "endpoint.recover"
    done = wait_for(lambda: (t := client.background_task.get(task.id)).status == "finished" and t)
    assert done.data == {"messagesSent": 1}
    third = receiver.wait_for(3)[2]
    assert third.webhook_id == failed.id
    wait_for(lambda: client.endpoint.get_stats(app_id, ep_id).success == 2, what="both delivered")
    assert [r.webhook_id for r in receiver.requests].count(ok.id) == 1


def test_replay_missing_bulk_replay_and_send_example(server, make_receiver):
    first, late = make_receiver(), make_receiver()
    client = svix_client(server)
    app_id, _ = app_with_endpoint(client, first.url)
    since = datetime.now(UTC) - timedelta(minutes=1)
    sent = [
        client.message.create(app_id, MessageIn(event_type="att.rep", payload={"i": i})).id for i in range(3)
    ]
    first.wait_for(3)
    late_ep = client.endpoint.create(app_id, EndpointIn(url=late.url)).id

    client.endpoint.replay_missing(app_id, late_ep, ReplayIn(since=since))
    assert {r.webhook_id for r in late.wait_for(3)} == set(sent)
    # Replaying again sends nothing new: the endpoint has them all now.
    with server.client() as http:
        again = http.post(
            f"/api/v1/app/{app_id}/endpoint/{late_ep}/replay-missing", json={"since": since.isoformat()}
        )
    assert again.status_code == 202 and again.json()["status"] == "running"
    done = wait_for(lambda: (t := client.background_task.get(again.json()["id"])).status == "finished" and t)
    assert done.data == {"messagesSent": 0}
    client.endpoint.bulk_replay(app_id, late_ep, BulkReplayIn(since=since))
    assert sorted(r.webhook_id for r in late.wait_for(6)) == sorted(sent * 2)

    name = f"att.example{int(time.time() * 1000)}"
    example = {"user": "ada", "plan": "pro"}
    schema = {"1": {"type": "object", "examples": [example]}}
    client.event_type.create(EventTypeIn(name=name, description="example", schemas=schema))
    msg = client.endpoint.send_example(app_id, late_ep, EventExampleIn(event_type=name))
    got = late.wait_until(lambda reqs: any(r.webhook_id == msg.id for r in reqs), what="example")
    assert orjson.loads(next(r.body for r in got if r.webhook_id == msg.id)) == example
    assert len(first.requests) == 3  # the other endpoint got none of the replays


def test_attempt_filters(server, make_receiver):
    receiver = make_receiver().reply_with(Reply(500))
    client = svix_client(server)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    red = client.message.create(
        app_id, MessageIn(event_type="f.red", payload={}, channels=["red"], tags=["t1"])
    )
    receiver.wait_for(1)  # red's first attempt takes the scripted 500
    blue = client.message.create(
        app_id, MessageIn(event_type="f.blue", payload={}, channels=["blue"], tags=["t2"])
    )
    receiver.wait_until(lambda got: {r.webhook_id for r in got} >= {red.id, blue.id}, what="both")
    wait_for(lambda: client.endpoint.get_attempt_stats(app_id, ep_id).success == 2, what="both succeeded")

    def listed(**options: object) -> list[str]:
        data = client.message_attempt.list_by_endpoint(
            app_id, ep_id, MessageAttemptListByEndpointOptions(**options)
        ).data
        return sorted({a.msg_id for a in data})

    assert listed(channel="red") == [red.id]
    assert listed(tag="t2") == [blue.id]
    assert listed(event_types=["f.blue"]) == [blue.id]
    assert listed(status=2) == [red.id]  # the first attempt (500) of the first message
    assert listed(status_code_class=500) == [red.id]
    assert listed(channel="green") == []
