"""A message with ``deliverAt`` is sent when it falls due, not before."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from svix.api import MessageIn

from tests.delivery.conftest import app_with_endpoint, svix_client


def test_deliver_at_in_the_future(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, _ = app_with_endpoint(client, receiver.url)
    created = time.monotonic()
    deliver_at = datetime.now(UTC) + timedelta(seconds=1.5)
    msg = client.message.create(
        app_id, MessageIn(event_type="sched.t", payload={"s": 1}, deliver_at=deliver_at)
    )
    (got,) = receiver.wait_for(1, timeout=15)
    assert got.webhook_id == msg.id
    assert got.at - created >= 1.4
