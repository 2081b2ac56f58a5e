"""The request timeout counts only time on the wire: deliveries waiting for one of a host's
pooled connections do not time out while the receiver works on earlier ones, and so are not sent
twice; those that wait longer than the timeout for one go back to the queue unsent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from svix.api import MessageAttemptListByEndpointOptions, MessageIn

from hookhub.delivery.sender import PER_HOST_CONNECTIONS
from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Reply
from tests.support.waiting import wait_for

TIMEOUT_SECONDS = 5
RECEIVER_SECONDS = 3  # close to the timeout: a wait for a connection plus this exceeds it


def test_waiting_for_a_connection_is_not_part_of_the_timeout(make_server, make_receiver):
    receiver = make_receiver(Reply(200, delay=RECEIVER_SECONDS))
    srv = make_server(
        {"HOOKHUB_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS), "HOOKHUB_RETRY_SCHEDULE": "0,1,1"}
    )
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    # Three rounds: the second waits for a connection (less than the timeout), the third longer
    # than the timeout, so it is put back in the queue without an attempt and sent later.
    count = 3 * PER_HOST_CONNECTIONS
    due = datetime.now(UTC) + timedelta(seconds=5)  # all at once, after they are all created
    for i in range(count):
        client.message.create(app_id, MessageIn(event_type="slow.t", payload={"i": i}, deliver_at=due))

    options = MessageAttemptListByEndpointOptions(with_content=True, limit=250)
    attempts = wait_for(
        lambda: (
            out
            if len(out := client.message_attempt.list_by_endpoint(app_id, ep_id, options).data) >= count
            else None
        ),
        timeout=60,
        what=f"{count} attempts",
    )
    failed = [a.response for a in attempts if int(a.status) != 0]
    assert failed == [], failed[:3]
    assert len(attempts) == count
    assert all(a.response_status_code == 200 for a in attempts)
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == count and len(set(ids)) == count  # nothing sent twice
