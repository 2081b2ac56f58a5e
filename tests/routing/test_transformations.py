"""JavaScript transformations in Svix's form: set with the svix SDK, run in V8 on delivery, the
delivered body verified by the receiver with ``standardwebhooks``; the stored message unchanged;
a script that loops for ever stopped at its limit while other deliveries go on."""

from __future__ import annotations

import json

import httpx
import standardwebhooks
from svix.api import (
    ApplicationIn,
    EndpointIn,
    EndpointTransformationPatch,
    MessageGetOptions,
    MessageIn,
    Svix,
    SvixOptions,
)

from tests.delivery.receiver import Reply
from tests.support.waiting import wait_for

# As Svix's documentation writes one: reshape the payload for a chat app, and say so in a header.
SLACK_STYLE = """
/**
 * @param webhook the webhook object
 * @param webhook.method destination method. Allowed values: "POST", "PUT"
 * @param webhook.url current destination address
 * @param webhook.eventType current webhook Event Type
 * @param webhook.payload JSON payload
 * @param webhook.cancel whether to cancel dispatch of the given webhook
 */
function handler(webhook) {
  webhook.payload = {
    text: `New ${webhook.eventType}: ${webhook.payload.customer.name} paid ` +
      `${webhook.payload.amount / 100} EUR`,
  };
  webhook.headers["x-transformed"] = "yes";
  return webhook;
}
"""
FOREVER = "function handler(webhook) { while (true) {} }"


def _client(server) -> Svix:
    return Svix(server.token, SvixOptions(server_url=server.url))


def test_a_svix_transformation_reshapes_the_delivered_payload(server, make_receiver):
    receiver = make_receiver()
    client = _client(server)
    app = client.application.create(ApplicationIn(name="transform"))
    ep = client.endpoint.create(app.id, EndpointIn(url=receiver.url))
    client.endpoint.transformation.patch(
        app.id, ep.id, EndpointTransformationPatch(code=SLACK_STYLE, enabled=True)
    )
    got = client.endpoint.transformation.get(app.id, ep.id)
    assert got.enabled is True and got.code == SLACK_STYLE

    original = {"customer": {"name": "Ada"}, "amount": 4200}
    msg = client.message.create(app.id, MessageIn(event_type="invoice.paid", payload=original))
    [delivered] = receiver.wait_for(1)
    secret = client.endpoint.get_secret(app.id, ep.id).key
    verified = standardwebhooks.Webhook(secret).verify(delivered.body, delivered.headers)
    assert verified == {"text": "New invoice.paid: Ada paid 42 EUR"}
    assert delivered.headers["x-transformed"] == "yes"
    assert delivered.headers["content-type"] == "application/json"
    assert delivered.webhook_id == msg.id
    # What is stored is what was sent to hookhub.
    stored = client.message.get(app.id, msg.id, MessageGetOptions(with_content=True))
    assert stored.payload == original

    # Switched off, the next message goes as it came.
    client.endpoint.transformation.patch(app.id, ep.id, EndpointTransformationPatch(enabled=False))
    client.message.create(app.id, MessageIn(event_type="invoice.paid", payload=original))
    second = receiver.wait_for(2)[1]
    assert standardwebhooks.Webhook(secret).verify(second.body, second.headers) == original


def test_a_transformation_can_change_method_and_url_or_cancel(server, api, make_receiver):
    receiver = make_receiver()
    client = _client(server)
    app = client.application.create(ApplicationIn(name="transform routes"))
    ep = client.endpoint.create(app.id, EndpointIn(url=receiver.url))
    code = """
    function handler(webhook) {
      if (webhook.payload.skip) { webhook.cancel = true; return webhook; }
      if (webhook.payload.internal) {
        webhook.url = "http://169.254.169.254/latest/meta-data";
        return webhook;
      }
      webhook.method = "PUT";
      webhook.url = webhook.url + "/orders/" + webhook.payload.id;
      return webhook;
    }
    """
    client.endpoint.transformation.patch(app.id, ep.id, EndpointTransformationPatch(code=code, enabled=True))
    sent = client.message.create(app.id, MessageIn(event_type="order.updated", payload={"id": "o-17"}))
    skipped = client.message.create(app.id, MessageIn(event_type="order.updated", payload={"skip": True}))
    guarded = client.message.create(app.id, MessageIn(event_type="order.updated", payload={"internal": 1}))

    [got] = receiver.wait_for(1)
    assert got.method == "PUT" and got.path == "/hook/orders/o-17"
    assert json.loads(got.body) == {"id": "o-17"}  # untouched payload: the original bytes

    def status(msg_id: str) -> str:
        [row] = api.get(f"/api/v1/app/{app.id}/msg/{msg_id}/delivery").json()["data"]
        return row["status"]

    assert wait_for(lambda: status(skipped.id) == "filtered")
    assert client.message_attempt.list_by_msg(app.id, skipped.id).data == []
    # The new URL still passes the SSRF guard when it is sent.
    path = f"/api/v1/app/{app.id}/attempt/msg/{guarded.id}"
    attempts = wait_for(lambda: api.get(path).json()["data"])
    assert attempts[0]["responseStatusCode"] == 0
    assert attempts[0]["url"] == "http://169.254.169.254/latest/meta-data"
    assert attempts[0]["response"].startswith("Refused"), attempts[0]["response"]
    assert status(sent.id) in ("sending", "success")
    assert len(receiver.requests) == 1


def test_a_transformation_that_loops_for_ever_is_stopped_and_others_go_on(server, api, make_receiver):
    stuck, fine = make_receiver(), make_receiver()
    client = _client(server)
    app = client.application.create(ApplicationIn(name="forever"))
    looping = client.endpoint.create(app.id, EndpointIn(url=stuck.url))
    client.endpoint.transformation.patch(
        app.id, looping.id, EndpointTransformationPatch(code=FOREVER, enabled=True)
    )
    healthy = client.endpoint.create(app.id, EndpointIn(url=fine.url))
    quick = "function handler(webhook) { webhook.payload.seen = true; return webhook; }"
    client.endpoint.transformation.patch(
        app.id, healthy.id, EndpointTransformationPatch(code=quick, enabled=True)
    )

    sent = [
        client.message.create(app.id, MessageIn(event_type="tick", payload={"n": n})).id for n in range(6)
    ]
    got = fine.wait_for(6)
    assert sorted(r.webhook_id for r in got) == sorted(sent)
    assert all(json.loads(r.body)["seen"] is True for r in got)
    assert stuck.requests == []

    def looping_attempts() -> list:
        return api.get(f"/api/v1/app/{app.id}/attempt/endpoint/{looping.id}").json()["data"]

    attempts = wait_for(lambda: len(looping_attempts()) >= 6 and looping_attempts())
    for attempt in attempts:
        assert attempt["status"] == 2 and attempt["responseStatusCode"] == 0  # a failed attempt
        assert attempt["response"] == "Transformation failed: the transformation ran longer than 50 ms"


def test_simulate_and_bad_code(server, api):
    client = _client(server)
    app = client.application.create(ApplicationIn(name="simulate"))
    ep = client.endpoint.create(app.id, EndpointIn(url="https://example.com/hooks"))
    base = f"/api/v1/app/{app.id}/endpoint/{ep.id}/transformation"
    simulated = api.post(
        base + "/simulate",
        json={
            "code": SLACK_STYLE,
            "eventType": "invoice.paid",
            "payload": {"customer": {"name": "Bo"}, "amount": 100},
        },
    )
    assert simulated.status_code == 200, simulated.text
    out = simulated.json()
    assert out["method"] == "POST" and out["url"] == "https://example.com/hooks"
    assert json.loads(out["payload"]) == {"text": "New invoice.paid: Bo paid 1 EUR"}
    assert out["headers"] == {"x-transformed": "yes"} and out["cancel"] is False

    failing = api.post(
        base + "/simulate", json={"code": "function handler(w) { return w.a.b; }", "eventType": "x"}
    )
    assert failing.status_code == 422, failing.text
    assert failing.json()["code"] == "transformation_failed"
    assert "TypeError" in failing.json()["detail"]
    slow = api.post(base + "/simulate", json={"code": FOREVER, "eventType": "x", "payload": {}})
    assert slow.status_code == 422 and "longer than 50 ms" in slow.json()["detail"]

    broken = api.patch(base, json={"code": "function handler(w) { return w", "enabled": True})
    assert broken.status_code == 422 and "SyntaxError" in broken.text
    nameless = api.patch(base, json={"code": "function handle(w) { return w } // handler", "enabled": True})
    assert nameless.status_code == 422 and "handler" in nameless.text
    assert api.patch(base, json={"enabled": True}).status_code == 422  # no code yet
    assert api.get(base).json() == {
        "code": None,
        "enabled": False,
        "updatedAt": api.get(base).json()["updatedAt"],
    }


def test_a_source_destination_transformation(api, make_receiver):
    receiver = make_receiver()
    source = api.post("/ingest/api/v1/source", json={"name": "reshape"}).json()
    dest = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": receiver.url}).json()
    code = "function handler(webhook) { webhook.payload = {kind: webhook.payload.action}; return webhook; }"
    patched = api.patch(
        f"/ingest/api/v1/source/{source['id']}/endpoint/{dest['id']}/transformation",
        json={"code": code, "enabled": True},
    )
    assert patched.status_code == 204, patched.text
    answer = httpx.post(source["ingestUrl"], json={"action": "opened", "number": 7})
    assert answer.status_code == 200
    [got] = receiver.wait_for(1)
    secret = api.get(f"/ingest/api/v1/source/{source['id']}/endpoint/{dest['id']}/secret").json()["key"]
    assert standardwebhooks.Webhook(secret).verify(got.body, got.headers) == {"kind": "opened"}
    event = api.get(f"/ingest/api/v1/source/{source['id']}/event/{got.webhook_id}").json()
    assert json.loads(event["body"]) == {"action": "opened", "number": 7}


def test_a_cancelled_delivery_announces_nothing(make_server, make_receiver):
    ops, receiver = make_receiver(), make_receiver()
    ops_secret = "whsec_" + "b3BzLXNlY3JldC1vcHMtc2VjcmV0LW9wcw=="
    srv = make_server(
        {
            "HOOKHUB_RETRY_SCHEDULE": "0",  # one attempt, then failed for good: "exhausted" at once
            "HOOKHUB_OPERATIONAL_WEBHOOK_URL": ops.url,
            "HOOKHUB_OPERATIONAL_WEBHOOK_SECRET": ops_secret,
        }
    )
    client = _client(srv)
    app = client.application.create(ApplicationIn(name="cancel quietly"))
    ep = client.endpoint.create(app.id, EndpointIn(url=receiver.url))
    code = "function handler(w) { if (w.payload.drop) { w.cancel = true; } return w; }"
    client.endpoint.transformation.patch(app.id, ep.id, EndpointTransformationPatch(code=code, enabled=True))
    receiver.reply_with(Reply(status=500))
    dropped = client.message.create(app.id, MessageIn(event_type="a", payload={"drop": True}))
    failed = client.message.create(app.id, MessageIn(event_type="a", payload={"drop": False}))

    def announced() -> list[dict]:
        return [standardwebhooks.Webhook(ops_secret).verify(r.body, r.headers) for r in ops.requests]

    # The failed one is announced as exhausted; the cancelled one never is.
    wait_for(lambda: any(a["type"] == "message.attempt.exhausted" for a in announced()))
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {srv.token}"}) as api:
        [row] = api.get(f"/api/v1/app/{app.id}/msg/{dropped.id}/delivery").json()["data"]
    assert row["status"] == "filtered"
    exhausted = [a["data"]["msgId"] for a in announced() if a["type"] == "message.attempt.exhausted"]
    assert exhausted == [failed.id]
