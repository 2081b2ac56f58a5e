"""Content filters end to end: on a source's destination (Stripe-signed events, filtered on the
amount) and on an application's endpoint (messages sent with the svix SDK); refused events are
visible as ``filtered``, never attempted; bad filters get a 422 naming the operator's place."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import stripe
from svix.api import MessageIn, Svix, SvixOptions

from tests.support.waiting import wait_for

BIG_CHARGES = {"body": {"type": "charge.succeeded", "data": {"object": {"amount": {"$gte": 5000}}}}}


def _stripe_event(url: str, secret: str, amount: int, kind: str = "charge.succeeded") -> str:
    payload = json.dumps(
        {
            "id": "evt_" + uuid.uuid4().hex[:24],
            "object": "event",
            "type": kind,
            "data": {"object": {"object": "charge", "amount": amount, "currency": "usd"}},
        }
    )
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    headers = {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}
    answer = httpx.post(url, content=payload, headers=headers)
    assert answer.status_code == 200, answer.text
    # The payload verifies with Stripe's own SDK, as the destination would check it.
    stripe.Webhook.construct_event(payload, headers["Stripe-Signature"], secret)
    return answer.headers["x-hookhub-event-id"]


def test_a_filter_on_the_amount_lets_only_matching_stripe_events_through(api, make_receiver):
    receiver = make_receiver()
    secret = "whsec_" + uuid.uuid4().hex
    source = api.post(
        "/ingest/api/v1/source", json={"name": "stripe", "type": "stripe", "config": {"secret": secret}}
    )
    assert source.status_code == 201, source.text
    source_id, ingest_url = source.json()["id"], source.json()["ingestUrl"]
    dest = api.post(
        f"/ingest/api/v1/source/{source_id}/endpoint", json={"url": receiver.url, "filter": BIG_CHARGES}
    )
    assert dest.status_code == 201, dest.text
    assert dest.json()["filter"] == BIG_CHARGES
    everything = api.post(f"/ingest/api/v1/source/{source_id}/endpoint", json={"url": receiver.url + "/all"})
    assert everything.status_code == 201, everything.text

    small = _stripe_event(ingest_url, secret, 1200)
    big = _stripe_event(ingest_url, secret, 7500)
    refund = _stripe_event(ingest_url, secret, 9000, kind="charge.refunded")

    got = receiver.wait_for(4)
    filtered_got = sorted(r.webhook_id for r in got if r.path == "/hook")
    assert filtered_got == [big]
    assert sorted(r.webhook_id for r in got if r.path == "/hook/all") == sorted([small, big, refund])
    time.sleep(0.5)  # nothing more arrives: the refused events were never sent
    assert len(receiver.requests) == 4

    def statuses(event_id: str) -> dict[str, str]:
        page = api.get(f"/ingest/api/v1/source/{source_id}/event/{event_id}/delivery").json()
        return {row["endpointId"]: row["status"] for row in page["data"]}

    dest_id, all_id = dest.json()["id"], everything.json()["id"]
    assert wait_for(lambda: statuses(small) == {dest_id: "filtered", all_id: "success"})
    assert statuses(refund)[dest_id] == "filtered"
    assert wait_for(lambda: statuses(big) == {dest_id: "success", all_id: "success"})
    # A filtered event is no failed attempt: the destination's attempts are the one it got.
    attempts = api.get(f"/ingest/api/v1/source/{source_id}/endpoint/{dest_id}/attempt").json()["data"]
    assert [a["msgId"] for a in attempts] == [big]

    # Replaying a refused event refuses it again; the filter tester says why on the stored event.
    replay = api.post(f"/ingest/api/v1/source/{source_id}/event/{small}/replay")
    assert replay.status_code == 202 and replay.json()["deliveriesEnqueued"] == 1
    tried = api.post(
        f"/ingest/api/v1/source/{source_id}/endpoint/{dest_id}/filter/test", json={"eventId": small}
    )
    assert tried.status_code == 200, tried.text
    assert tried.json()["matched"] is False
    assert tried.json()["document"]["body"]["data"]["object"]["amount"] == 1200
    assert tried.json()["document"]["headers"]["content-type"] == "application/json"
    lower = {"body": {"data": {"object": {"amount": {"$gte": 1000}}}}}
    tried = api.post(
        f"/ingest/api/v1/source/{source_id}/endpoint/{dest_id}/filter/test",
        json={"eventId": small, "filter": lower},
    )
    assert tried.json()["matched"] is True


def test_an_endpoint_filter_on_the_payload_and_tags(server, api, make_receiver):
    receiver = make_receiver()
    client = Svix(server.token, SvixOptions(server_url=server.url))
    app = api.post("/api/v1/app", json={"name": "filters"}).json()
    content_filter = {"payload": {"country": {"$in": ["DE", "FR"]}}, "tags": "priority"}
    ep = api.post(f"/api/v1/app/{app['id']}/endpoint", json={"url": receiver.url, "filter": content_filter})
    assert ep.status_code == 201, ep.text
    ep_id = ep.json()["id"]
    assert client.endpoint.get(app["id"], ep_id).url == receiver.url  # the SDK reads it as ever

    def send(country: str, tags: list[str]) -> str:
        msg = client.message.create(
            app["id"], MessageIn(event_type="order.created", payload={"country": country}, tags=tags)
        )
        return msg.id

    wanted = send("DE", ["priority"])
    wrong_country = send("US", ["priority"])
    wrong_tags = send("FR", ["bulk"])
    [got] = receiver.wait_for(1)
    assert got.webhook_id == wanted
    assert json.loads(got.body) == {"country": "DE"}

    def status(msg_id: str) -> str:
        [row] = api.get(f"/api/v1/app/{app['id']}/msg/{msg_id}/delivery").json()["data"]
        return row["status"]

    assert status(wrong_country) == "filtered" and status(wrong_tags) == "filtered"
    assert wait_for(lambda: status(wanted) == "success")
    stats = api.get(f"/api/v1/app/{app['id']}/endpoint/{ep_id}/stats").json()
    assert stats["filtered"] == 2 and stats["fail"] == 0
    # Svix's own lists name only the endpoints a message went to.
    assert client.message_attempt.list_attempted_destinations(app["id"], wrong_country).data == []
    assert [d.id for d in client.message_attempt.list_attempted_destinations(app["id"], wanted).data] == [
        ep_id
    ]
    assert len(receiver.requests) == 1

    # The tester, on a stored message and on a sample.
    base = f"/api/v1/app/{app['id']}/endpoint/{ep_id}/filter/test"
    assert api.post(base, json={"eventId": wrong_tags}).json()["matched"] is False
    sample = {"payload": {"country": "FR"}, "eventType": "x", "channels": [], "tags": ["priority"]}
    assert api.post(base, json={"document": sample}).json()["matched"] is True
    assert api.post(base, json={}).status_code == 422
    assert api.post(base, json={"eventId": "msg_nope"}).status_code == 404

    # Removing the filter (null) lets everything through again.
    cleared = api.patch(f"/api/v1/app/{app['id']}/endpoint/{ep_id}", json={"filter": None})
    assert cleared.status_code == 200 and cleared.json()["filter"] is None
    again = send("US", ["bulk"])
    assert receiver.wait_for(2)[1].webhook_id == again


def test_a_bad_filter_is_refused_with_its_place(api):
    app = api.post("/api/v1/app", json={"name": "bad filters"}).json()
    bad = {"payload": {"amount": {"$gtx": 5}}}
    answer = api.post(
        f"/api/v1/app/{app['id']}/endpoint", json={"url": "https://example.com/h", "filter": bad}
    )
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"][:2] == ["body", "filter"]
    assert "'$gtx'" in problem["msg"] and "$.payload.amount.$gtx" in problem["msg"]
    assert api.get(f"/api/v1/app/{app['id']}/endpoint").json()["data"] == []  # nothing half-written

    ep = api.post(f"/api/v1/app/{app['id']}/endpoint", json={"url": "https://example.com/h"}).json()
    evil = {"payload": {"name": {"$regex": "(a|aa"}}}
    answer = api.patch(f"/api/v1/app/{app['id']}/endpoint/{ep['id']}", json={"filter": evil})
    assert answer.status_code == 422 and "$.payload.name.$regex" in answer.text
    answer = api.post(
        f"/api/v1/app/{app['id']}/endpoint/{ep['id']}/filter/test",
        json={"filter": {"$or": "x"}, "document": {}},
    )
    assert answer.status_code == 422 and "$.$or" in answer.text
    huge = api.post(  # found by schemathesis: an integer beyond 64 bits was a 500
        f"/api/v1/app/{app['id']}/endpoint/{ep['id']}/filter/test",
        json={"filter": {"payload": {"n": -(2**127)}}, "document": {}},
    )
    assert huge.status_code == 422 and "64 bits" in huge.text
    not_json = api.post(
        f"/api/v1/app/{app['id']}/endpoint/{ep['id']}/filter/test",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert not_json.status_code == 400
