"""The SSRF guard refuses private destinations (with a recorded reason); throttleRate holds."""

from __future__ import annotations

import time

from svix.api import (
    ApplicationIn,
    EndpointIn,
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageIn,
)

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.support.waiting import wait_for


def _attempts(client, app_id: str, msg_id: str, want: int, timeout: float = 15.0):
    options = MessageAttemptListByMsgOptions(with_content=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.message_attempt.list_by_msg(app_id, msg_id, options).data
        if len(data) >= want:
            return data
        time.sleep(0.05)
    raise AssertionError(f"no {want} attempts for {msg_id}")


def test_loopback_destinations_are_refused_without_the_allowance(make_server, make_receiver):
    """A name is judged on the addresses it resolves to (an IP literal is refused when saved:
    tests/outbound/test_endpoints.py)."""
    srv = make_server({"HOOKHUB_ALLOW_PRIVATE_NETWORKS": "", "HOOKHUB_RETRY_SCHEDULE": "0"})
    receiver = make_receiver()
    client = svix_client(srv)
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://localhost:{port}/hook"
    app_id, _ = app_with_endpoint(client, url)
    msg = client.message.create(app_id, MessageIn(event_type="ssrf.t", payload={"url": url}))
    (attempt,) = _attempts(client, app_id, msg.id, 1)
    assert attempt.response_status_code == 0
    assert int(attempt.status) == 2
    assert "Refused" in attempt.response and "loopback" in attempt.response
    assert "HOOKHUB_ALLOW_PRIVATE_NETWORKS" in attempt.response
    assert receiver.requests == []


def test_addresses_are_judged_as_the_client_reads_them(make_server, make_receiver, make_database):
    """Endpoints saved while loopback was allowed, sent once it no longer is: Unicode spellings of
    127.0.0.1 (which the HTTP client maps to it) and a 6to4 address carrying it are refused."""
    database_url = make_database()
    receiver = make_receiver()
    port = receiver.url.split(":")[2].split("/")[0]
    urls = [
        receiver.url,
        f"http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11:{port}/hook",  # full-width
        f"http://127\u30020\u30020\u30021:{port}/hook",  # ideographic full stops
        f"http://[2002:7f00:1::1]:{port}/hook",  # 6to4, carrying 127.0.0.1
    ]
    allowed = make_server({"HOOKHUB_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"}, database_url=database_url)
    client = svix_client(allowed)
    app = client.application.create(ApplicationIn(name="ssrf"))
    endpoint_ids = [client.endpoint.create(app.id, EndpointIn(url=url)).id for url in urls]
    allowed.stop()

    guarded = make_server(
        {"HOOKHUB_ALLOW_PRIVATE_NETWORKS": "", "HOOKHUB_RETRY_SCHEDULE": "0"}, database_url=database_url
    )
    client = svix_client(guarded)
    client.message.create(app.id, MessageIn(event_type="ssrf.t", payload={"n": 1}))
    options = MessageAttemptListByEndpointOptions(with_content=True)
    for ep_id in endpoint_ids:
        (attempt,) = wait_for(
            lambda ep_id=ep_id: client.message_attempt.list_by_endpoint(app.id, ep_id, options).data
        )
        assert attempt.response_status_code == 0 and int(attempt.status) == 2
        assert attempt.response.startswith("Refused"), attempt.response
        assert "127.0.0.1" in attempt.response and "loopback" in attempt.response
    assert receiver.requests == []


def test_throttle_rate_spaces_out_sends(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, _ = app_with_endpoint(client, receiver.url, throttle_rate=5)
    for i in range(6):
        client.message.create(app_id, MessageIn(event_type="throttle.t", payload={"i": i}))
    got = receiver.wait_for(6, timeout=30)
    # 5 per second: six sends span about a second (each slot is 0.2 s after the previous); the
    # margin absorbs a slow first connection.
    assert got[-1].at - got[0].at >= 0.75
