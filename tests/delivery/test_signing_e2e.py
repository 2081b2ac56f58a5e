"""A message reaches a real receiver byte-exact, signed so that independent libraries verify it."""

from __future__ import annotations

import base64
import os

import standardwebhooks
import svix.webhooks
from svix.api import EndpointSecretRotateIn, MessageIn

from tests.delivery.conftest import app_with_endpoint, stored_payload, svix_client


def test_payload_arrives_byte_exact_and_signed(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, ep_id = app_with_endpoint(client, receiver.url, headers={"X-Tenant": "acme"})
    payload = {"text": "h\u00e9llo \u2603", "n": [1, 2.5, None], "nested": {"deep": True}}
    msg = client.message.create(app_id, MessageIn(event_type="user.created", payload=payload))

    (got,) = receiver.wait_for(1)
    assert got.body == stored_payload(server.database_url, msg.id).encode()
    assert got.webhook_id == msg.id
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-tenant"] == "acme"
    secret = client.endpoint.get_secret(app_id, ep_id).key
    assert standardwebhooks.Webhook(secret).verify(got.body, got.headers) == payload
    svix.webhooks.Webhook(secret).verify(got.body, got.headers)


def test_rotated_secret_signs_with_both_keys(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    old = client.endpoint.get_secret(app_id, ep_id).key
    new = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    client.endpoint.rotate_secret(app_id, ep_id, EndpointSecretRotateIn(key=new))
    client.message.create(app_id, MessageIn(event_type="a.b", payload={"k": 1}))

    (got,) = receiver.wait_for(1)
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for key in (old, new):
        standardwebhooks.Webhook(key).verify(got.body, got.headers)
        svix.webhooks.Webhook(key).verify(got.body, got.headers)
        # each key matches exactly one of the two signatures on its own
        matching = [sig for sig in signatures if _verifies(key, got, sig)]
        assert len(matching) == 1


def _verifies(key: str, got, signature: str) -> bool:
    headers = dict(got.headers, **{"webhook-signature": signature})
    try:
        standardwebhooks.Webhook(key).verify(got.body, headers)
    except standardwebhooks.webhooks.WebhookVerificationError:
        return False
    return True


def test_svix_header_names_on_request(make_server, make_receiver):
    srv = make_server({"HOOKHUB_SEND_SVIX_HEADERS": "true"})
    receiver = make_receiver()
    client = svix_client(srv)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    client.message.create(app_id, MessageIn(event_type="a.b", payload={"svix": True}))
    (got,) = receiver.wait_for(1)
    assert got.headers["svix-id"] == got.headers["webhook-id"]
    assert got.headers["svix-signature"] == got.headers["webhook-signature"]
    secret = client.endpoint.get_secret(app_id, ep_id).key
    only_svix = {k: v for k, v in got.headers.items() if not k.startswith("webhook-")}
    svix.webhooks.Webhook(secret).verify(got.body, only_svix)
