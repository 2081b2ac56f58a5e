"""Inbound events forwarded to a source's destinations go through the same engine: the raw body
byte for byte, its original Content-Type, signed with the event id."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import standardwebhooks

from tests.delivery.receiver import Reply
from tests.support.waiting import wait_for


def _source_with_destination(api: httpx.Client, url: str) -> tuple[str, str, str]:
    src = api.post("/ingest/api/v1/source", json={"name": "fwd"})
    assert src.status_code in (200, 201), src.text
    source = src.json()
    dest = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": url})
    assert dest.status_code in (200, 201), dest.text
    secret = api.get(f"/ingest/api/v1/source/{source['id']}/endpoint/{dest.json()['id']}/secret").json()[
        "key"
    ]
    return source["id"], source["ingestUrl"], secret


def test_raw_body_and_content_type_are_forwarded_exactly(api, make_receiver):
    receiver = make_receiver()
    source_id, ingest_url, secret = _source_with_destination(api, receiver.url)
    form = b"name=J%C3%BCrgen&note=  two  spaces &empty="
    blob = bytes(range(256)) + b"\xff\xfe not utf-8"
    assert httpx.post(
        ingest_url, content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    ).is_success
    assert httpx.post(
        ingest_url, content=blob, headers={"Content-Type": "application/octet-stream"}
    ).is_success

    first, second = receiver.wait_for(2)
    assert first.body == form and first.headers["content-type"] == "application/x-www-form-urlencoded"
    assert second.body == blob and second.headers["content-type"] == "application/octet-stream"
    assert first.webhook_id.startswith("evt_") and second.webhook_id.startswith("evt_")
    standardwebhooks.Webhook(secret).verify(first.body, first.headers, json_parse=False)

    # Each event lists its attempt to the destination.
    attempts = api.get(f"/ingest/api/v1/source/{source_id}/event/{first.webhook_id}/attempt")
    assert attempts.status_code == 200, attempts.text
    [attempt] = wait_for_attempts(api, source_id, first.webhook_id)
    assert attempt["msgId"] == first.webhook_id
    assert attempt["url"] == receiver.url
    assert attempt["status"] == 0 and attempt["responseStatusCode"] == 200
    unknown = api.get(f"/ingest/api/v1/source/{source_id}/event/evt_missing/attempt")
    assert unknown.status_code == 404


def wait_for_attempts(api: httpx.Client, source_id: str, event_id: str, timeout: float = 10.0) -> list[dict]:
    """The event's attempts once at least one is recorded (recording follows the send)."""
    deadline = time.monotonic() + timeout
    while True:
        data = api.get(f"/ingest/api/v1/source/{source_id}/event/{event_id}/attempt").json()["data"]
        if data or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def test_a_destination_lists_its_attempts_of_every_event(api, make_receiver):
    receiver = make_receiver()
    source_id, ingest_url, _ = _source_with_destination(api, receiver.url)
    other = api.post(f"/ingest/api/v1/source/{source_id}/endpoint", json={"url": receiver.url + "/other"})
    assert other.status_code in (200, 201), other.text
    for n in (1, 2):
        assert httpx.post(ingest_url, json={"n": n}).is_success
    receiver.wait_for(4)  # two events, each to both destinations
    destinations = api.get(f"/ingest/api/v1/source/{source_id}/endpoint").json()["data"]
    first = next(d for d in destinations if d["url"] == receiver.url)
    path = f"/ingest/api/v1/source/{source_id}/endpoint/{first['id']}/attempt"
    deadline = time.monotonic() + 10
    while len(listed := api.get(path).json()["data"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [a["url"] for a in listed] == [receiver.url, receiver.url]
    assert all(a["endpointId"] == first["id"] and a["responseStatusCode"] == 200 for a in listed)
    assert listed[0]["id"] > listed[1]["id"]  # newest first
    paged = api.get(path, params={"limit": 1}).json()
    assert len(paged["data"]) == 1 and paged["done"] is False
    assert api.get(f"/ingest/api/v1/source/{source_id}/endpoint/ep_missing/attempt").status_code == 404


def test_recover_resends_the_events_a_destination_failed(make_server, make_receiver):
    server = make_server({"HOOKHUB_RETRY_SCHEDULE": "0"})  # one attempt, then failed for good
    receiver = make_receiver().reply_with(Reply(500))
    with server.client() as api:
        source_id, ingest_url, _ = _source_with_destination(api, receiver.url)
        dest_id = api.get(f"/ingest/api/v1/source/{source_id}/endpoint").json()["data"][0]["id"]
        since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        failed = httpx.post(ingest_url, json={"n": 1}).headers["x-hookhub-event-id"]
        receiver.wait_for(1)
        ok = httpx.post(ingest_url, json={"n": 2}).headers["x-hookhub-event-id"]
        receiver.wait_for(2)
        wait_for_attempts(api, source_id, ok)

        task = api.post(
            f"/ingest/api/v1/source/{source_id}/endpoint/{dest_id}/recover", json={"since": since}
        )
        assert task.status_code == 202, task.text
        task_url = f"/api/v1/background-task/{task.json()['id']}"
        done = wait_for(lambda: (t := api.get(task_url).json())["status"] == "finished" and t)
        assert done["task"] == "endpoint.recover" and done["data"] == {"messagesSent": 1}
        third = receiver.wait_for(3)[2]
    assert third.webhook_id == failed
    assert [r.webhook_id for r in receiver.requests].count(ok) == 1
