"""Inbound de-duplication: a provider's retry of a delivery is answered as the first was and
stored, relayed and delivered once — by the provider's own delivery id, or a key path."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import stripe
from standardwebhooks import Webhook

from tests.inbound.conftest import Sources

GITHUB_SECRET = "It's a Secret to Everybody"


def _github_delivery(url: str, delivery: str, body: bytes) -> httpx.Response:
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    return httpx.post(url, content=body, headers=headers)


def test_a_github_delivery_retried_by_github_is_one_event(sources: Sources) -> None:
    source = sources.create(type="github", config={"secret": GITHUB_SECRET}, settings={"dedupe": {}})
    delivery = str(uuid.uuid4())
    body = json.dumps({"ref": "refs/heads/main", "after": "abc"}).encode()
    first = _github_delivery(source["ingestUrl"], delivery, body)
    assert first.status_code == 200, first.text
    again = _github_delivery(source["ingestUrl"], delivery, body)  # GitHub's "redeliver"
    assert again.status_code == 200, again.text
    assert again.headers["x-hookhub-event-id"] == first.headers["x-hookhub-event-id"]
    assert again.headers["x-hookhub-duplicate"] == "true"
    other = _github_delivery(source["ingestUrl"], str(uuid.uuid4()), body)
    assert other.headers["x-hookhub-event-id"] != first.headers["x-hookhub-event-id"]

    events = sources.events(source["id"])
    assert [e["id"] for e in events] == [
        other.headers["x-hookhub-event-id"],
        first.headers["x-hookhub-event-id"],
    ]
    assert [e["duplicates"] for e in events] == [0, 1]


def test_concurrent_duplicates_store_exactly_one_event(sources: Sources) -> None:
    source = sources.create(settings={"dedupe": {"keyFrom": "body.id", "windowSeconds": 600}})

    def send(_: int) -> httpx.Response:
        return httpx.post(source["ingestUrl"], json={"id": "order-7", "total": 12})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, range(32)))
    assert {a.status_code for a in answers} == {200}
    ids = {a.headers["x-hookhub-event-id"] for a in answers}
    [event] = sources.events(source["id"])
    assert ids == {event["id"]}
    assert event["duplicates"] == 31


def test_a_stripe_event_resent_by_stripe_is_one_event(sources: Sources) -> None:
    secret = "whsec_" + uuid.uuid4().hex
    source = sources.create(type="stripe", config={"secret": secret}, settings={"dedupe": {}})
    payload = json.dumps({"id": "evt_1Nxyz", "object": "event", "type": "charge.succeeded"})

    def send() -> httpx.Response:  # Stripe signs each attempt anew, with its own timestamp
        timestamp = int(time.time())
        signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
        headers = {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}
        return httpx.post(source["ingestUrl"], content=payload, headers=headers)

    first = send()
    time.sleep(1.1)  # a later attempt: another timestamp, so no replay of the first
    again = send()
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.headers["x-hookhub-event-id"] == first.headers["x-hookhub-event-id"]
    assert len(sources.events(source["id"])) == 1


def test_a_key_from_several_fields_and_the_window(sources: Sources) -> None:
    source = sources.create(
        settings={"dedupe": {"keyFrom": ["body.kind", "headers['X-Seq']"], "windowSeconds": 1}}
    )
    url = source["ingestUrl"]
    a = httpx.post(url, json={"kind": "a"}, headers={"X-Seq": "1"})
    b = httpx.post(url, json={"kind": "a"}, headers={"X-Seq": "2"})  # another key: another event
    a_again = httpx.post(url, json={"kind": "a", "more": True}, headers={"X-Seq": "1"})
    assert a_again.headers["x-hookhub-event-id"] == a.headers["x-hookhub-event-id"]
    assert b.headers["x-hookhub-event-id"] != a.headers["x-hookhub-event-id"]
    time.sleep(1.5)  # past the window: the key is forgotten
    later = httpx.post(url, json={"kind": "a"}, headers={"X-Seq": "1"})
    assert later.headers["x-hookhub-event-id"] != a.headers["x-hookhub-event-id"]
    assert "x-hookhub-duplicate" not in later.headers
    assert len(sources.events(source["id"])) == 3


def test_a_duplicate_is_neither_delivered_nor_relayed_again(sources: Sources, api: httpx.Client) -> None:
    from tests.delivery.receiver import Receiver

    receiver = Receiver()
    try:
        source = sources.create(settings={"dedupe": {"keyFrom": "headers['X-Request-Id']"}})
        dest = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": receiver.url})
        assert dest.status_code == 201, dest.text
        for _ in range(3):
            httpx.post(source["ingestUrl"], json={"n": 1}, headers={"X-Request-Id": "r-1"})
        httpx.post(source["ingestUrl"], json={"n": 2}, headers={"X-Request-Id": "r-2"})
        got = receiver.wait_for(2)
        time.sleep(1)
        assert len(receiver.requests) == 2 and [json.loads(r.body)["n"] for r in got] == [1, 2]
    finally:
        receiver.close()


def test_svix_signed_deliveries_dedupe_on_their_webhook_id(sources: Sources) -> None:
    secret = "whsec_" + "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
    source = sources.create(type="svix", config={"secret": secret}, settings={"dedupe": {}})
    body = '{"type": "user.created"}'
    webhook = Webhook(secret)

    def send(at: float) -> httpx.Response:
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(at, UTC)
        headers = {
            "svix-id": "msg_same",
            "svix-timestamp": str(int(at)),
            "svix-signature": webhook.sign("msg_same", when, body),
            "content-type": "application/json",
        }
        return httpx.post(source["ingestUrl"], content=body, headers=headers)

    now = time.time()
    first, retry = send(now - 2), send(now)  # Svix's retry: same id, new timestamp and signature
    assert (first.status_code, retry.status_code) == (200, 200), retry.text
    assert retry.headers["x-hookhub-event-id"] == first.headers["x-hookhub-event-id"]


def test_a_source_without_a_delivery_id_must_name_its_key(api: httpx.Client) -> None:
    refused = api.post("/ingest/api/v1/source", json={"name": "plain", "settings": {"dedupe": {}}})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "keyFrom"
    bad_path = api.post(
        "/ingest/api/v1/source", json={"name": "plain", "settings": {"dedupe": {"keyFrom": "nope.x"}}}
    )
    assert bad_path.status_code == 422
