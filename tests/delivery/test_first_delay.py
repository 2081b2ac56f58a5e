"""The first entry of HOOKHUB_RETRY_SCHEDULE is the wait before the first attempt."""

from __future__ import annotations

from datetime import timedelta

from svix.api import MessageIn

from tests.delivery.conftest import app_with_endpoint, svix_client


def test_first_attempt_waits_for_the_first_delay(make_server, make_receiver) -> None:
    server = make_server(env={"HOOKHUB_RETRY_SCHEDULE": "60,1"})
    receiver = make_receiver()
    client = svix_client(server)
    app_id, endpoint_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="user.signup", payload={"a": 1}))

    [destination] = client.message_attempt.list_attempted_destinations(app_id, msg.id).data
    assert destination.id == endpoint_id
    assert destination.next_attempt is not None
    assert destination.next_attempt - msg.timestamp >= timedelta(seconds=59)
    assert receiver.requests == []
