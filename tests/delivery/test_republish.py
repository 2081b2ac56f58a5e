"""A source destination ``hookhub://app/{app}`` republishes each event as a message of that
application, whose endpoints then receive it signed with their own secrets (SPEC §3)."""

from __future__ import annotations

import uuid

import httpx
import standardwebhooks

from tests.delivery.test_inbound_destinations import wait_for_attempts
from tests.support.waiting import wait_for


def _app_with_endpoint(api: httpx.Client, url: str) -> tuple[str, str, str]:
    uid = f"republish-{uuid.uuid4().hex[:10]}"
    app = api.post("/api/v1/app", json={"name": "customers", "uid": uid})
    assert app.status_code == 201, app.text
    endpoint = api.post(f"/api/v1/app/{uid}/endpoint", json={"url": url})
    assert endpoint.status_code == 201, endpoint.text
    secret = api.get(f"/api/v1/app/{uid}/endpoint/{endpoint.json()['id']}/secret").json()["key"]
    return app.json()["id"], uid, secret


def _source(api: httpx.Client) -> dict:
    created = api.post(
        "/ingest/api/v1/source", json={"name": "to republish", "settings": {"eventTypeFrom": "body.action"}}
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_events_become_messages_of_the_application(api, make_receiver):
    receiver = make_receiver()
    app_id, app_uid, secret = _app_with_endpoint(api, receiver.url)
    source = _source(api)
    destination = api.post(
        f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": f"hookhub://app/{app_uid}"}
    )
    assert destination.status_code == 201, destination.text
    assert destination.json()["url"] == f"hookhub://app/{app_id}"  # stored by id

    sent = httpx.post(source["ingestUrl"], json={"action": "device.on", "level": 3})
    assert sent.status_code == 200, sent.text
    event_id = sent.headers["x-hookhub-event-id"]

    (delivered,) = receiver.wait_for(1)
    payload = standardwebhooks.Webhook(secret).verify(delivered.body, delivered.headers)
    assert payload == {"action": "device.on", "level": 3}
    assert delivered.webhook_id.startswith("msg_")
    messages = api.get(f"/api/v1/app/{app_id}/msg").json()["data"]
    assert [(m["id"], m["eventType"], m["eventId"]) for m in messages] == [
        (delivered.webhook_id, "device.on", event_id)
    ]
    (attempt,) = wait_for_attempts(api, source["id"], event_id)
    assert attempt["responseStatusCode"] == 202 and delivered.webhook_id in attempt["response"]

    # Replaying the event to its destinations finds the message there: nothing is sent twice.
    replay = api.post(f"/ingest/api/v1/source/{source['id']}/event/{event_id}/replay")
    assert replay.status_code in (200, 202), replay.text

    def both_attempts() -> list[dict] | None:
        found = api.get(f"/ingest/api/v1/source/{source['id']}/event/{event_id}/attempt").json()["data"]
        return found if len(found) >= 2 else None

    attempts = wait_for(both_attempts, what="the replay's attempt")
    assert sorted(a["responseStatusCode"] for a in attempts) == [200, 202]
    assert len(api.get(f"/api/v1/app/{app_id}/msg").json()["data"]) == 1
    assert len(receiver.requests) == 1


def test_a_republish_target_must_exist_and_only_sources_have_one(api):
    source = _source(api)
    unknown = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": "hookhub://app/nope"})
    assert unknown.status_code == 422, unknown.text
    assert "no application 'nope'" in unknown.text
    app_id, _, _ = _app_with_endpoint(api, "https://example.com/hook")
    on_app = api.post(f"/api/v1/app/{app_id}/endpoint", json={"url": f"hookhub://app/{app_id}"})
    assert on_app.status_code == 422, on_app.text
    assert "only a source's destinations" in on_app.text
    malformed = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": "hookhub://app/"})
    assert malformed.status_code == 422, malformed.text
