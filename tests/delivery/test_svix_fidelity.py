"""Where a user migrating from Svix would notice a difference: each case as Svix's OpenAPI
document and server answer it, through the official svix SDK where it can say the call."""

from __future__ import annotations

import httpx
import pytest
from svix.api import (
    ApplicationIn,
    EndpointIn,
    EndpointListOptions,
    EndpointPatch,
    MessageAttemptListByMsgOptions,
    MessageGetOptions,
    MessageIn,
)
from svix.exceptions import HttpError, HTTPValidationError

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.support.waiting import wait_for

HOOK = "https://example.com/hook"


def _auth(server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


@pytest.mark.parametrize(
    "fields",
    [
        {"event_types": []},
        {"channels": []},
        {"channels": [f"c{i}" for i in range(11)]},  # Svix allows at most 10
    ],
)
def test_an_empty_or_oversized_filter_is_refused_never_all(server, fields):
    client = svix_client(server)
    app = client.application.create(ApplicationIn(name="filters"))
    with pytest.raises(HTTPValidationError):
        client.endpoint.create(app.id, EndpointIn(url=HOOK, **fields))
    ep = client.endpoint.create(app.id, EndpointIn(url=HOOK, event_types=["a"], channels=["x"]))
    with pytest.raises(HTTPValidationError):
        client.endpoint.patch(app.id, ep.id, EndpointPatch(**fields))
    # The same JSON by hand, under the Svix name eventTypes and on PUT.
    key = "eventTypes" if "event_types" in fields else "channels"
    put = httpx.put(
        f"{server.url}/api/v1/app/{app.id}/endpoint/{ep.id}",
        json={"url": HOOK, key: next(iter(fields.values()))},
        headers=_auth(server),
    )
    assert put.status_code == 422, put.text
    assert put.json()["detail"][0]["loc"] == ["body", key]
    kept = client.endpoint.get(app.id, ep.id)
    assert (kept.event_types, kept.channels) == (["a"], ["x"])
    # Ten channels are fine, and null still clears a filter.
    ten = [f"c{i}" for i in range(10)]
    assert sorted(client.endpoint.patch(app.id, ep.id, EndpointPatch(channels=ten)).channels) == sorted(ten)


def test_ping_answers_204(server):
    for method in ("GET", "HEAD"):
        answer = httpx.request(method, f"{server.url}/api/v1/health/ping")
        assert answer.status_code == 204 and answer.content == b""


def test_attempt_content_deleted_and_expunged_message_not_resent(server, make_receiver):
    receiver = make_receiver()
    client = svix_client(server)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    msg = client.message.create(app_id, MessageIn(event_type="fid.a", payload={"secret": 1}))
    receiver.wait_for(1)
    options = MessageAttemptListByMsgOptions(with_content=True)
    (attempt,) = wait_for(lambda: client.message_attempt.list_by_msg(app_id, msg.id, options).data)
    assert attempt.response == "ok"

    client.message_attempt.expunge_content(app_id, msg.id, attempt.id)
    assert client.message_attempt.get(app_id, msg.id, attempt.id).response == "EXPUNGED"
    with pytest.raises(HttpError) as missing:
        client.message_attempt.expunge_content(app_id, msg.id, "atmpt_" + "0" * 27)
    assert missing.value.status_code == 404

    client.message.expunge_content(app_id, msg.id)
    got = client.message.get(app_id, msg.id, MessageGetOptions(with_content=True))
    assert got.payload == {"expired": True}
    with pytest.raises(HttpError) as refused:
        client.message_attempt.resend(app_id, msg.id, ep_id)
    assert refused.value.status_code == 400 and refused.value.code == "missing_payload"
    assert len(client.message_attempt.list_by_msg(app_id, msg.id).data) == 1  # nothing was queued


def test_validation_locations_are_strings(server):
    answer = httpx.post(
        f"{server.url}/api/v1/app",
        json={"name": "x", "metadata": {"k": 1}},
        headers=_auth(server),
    )
    assert answer.status_code == 422
    locs = [err["loc"] for err in answer.json()["detail"]]
    assert locs and all(isinstance(part, str) for loc in locs for part in loc), locs
    app = httpx.post(f"{server.url}/api/v1/app", json={"name": "x"}, headers=_auth(server)).json()
    listed = httpx.post(
        f"{server.url}/api/v1/app/{app['id']}/endpoint",
        json={"url": HOOK, "eventTypes": ["ok", "not ok"]},
        headers=_auth(server),
    )
    assert listed.status_code == 422
    assert listed.json()["detail"][0]["loc"] == ["body", "eventTypes", "1"]


def test_405_lists_every_allowed_method(server):
    answer = httpx.request("PATCH", f"{server.url}/api/v1/app", headers=_auth(server))
    assert answer.status_code == 405 and answer.json()["code"] == "method_not_allowed"
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST"}


def test_malformed_iterator_is_422_and_endpoints_list_newest_first(server):
    client = svix_client(server)
    app = client.application.create(ApplicationIn(name="order"))
    made = [client.endpoint.create(app.id, EndpointIn(url=f"{HOOK}/{i}")).id for i in range(3)]
    assert [ep.id for ep in client.endpoint.list(app.id).data] == made[::-1]
    ascending = client.endpoint.list(app.id, EndpointListOptions(order="ascending"))
    assert [ep.id for ep in ascending.data] == made
    for bad in ("nope", "ep_short", "ep_" + "!" * 27):
        answer = httpx.get(
            f"{server.url}/api/v1/app/{app.id}/endpoint", params={"iterator": bad}, headers=_auth(server)
        )
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", "iterator"]
    page = client.endpoint.list(app.id, EndpointListOptions(limit=1))
    following = client.endpoint.list(app.id, EndpointListOptions(limit=1, iterator=page.iterator))
    assert [ep.id for ep in following.data] == [made[1]]


@pytest.mark.parametrize(
    "path_of",
    [
        lambda app_id: "/api/v1/app",
        lambda app_id: f"/api/v1/app/{app_id}/endpoint",
        lambda app_id: "/ingest/api/v1/source",
        lambda app_id: f"/api/v1/app/{app_id}/msg",
    ],
)
def test_a_body_without_content_type_is_json_everywhere_and_a_wrong_one_is_named(server, path_of):
    client = svix_client(server)
    app = client.application.create(ApplicationIn(name="content types"))
    path = path_of(app.id)
    body = {
        "/api/v1/app": b'{"name": "bare"}',
        "/ingest/api/v1/source": b'{"name": "bare", "type": "generic-webhook"}',
    }.get(path, b'{"url": "https://example.com/bare"}')
    if path.endswith("/msg"):
        body = b'{"eventType": "bare", "payload": {}}'
    with httpx.Client(base_url=server.url, headers=_auth(server)) as http:
        bare = http.post(path, content=body)  # httpx sets no Content-Type for raw content
        assert "content-type" not in bare.request.headers
        assert bare.status_code in (201, 202), bare.text
        wrong = http.post(path, content=body, headers={"Content-Type": "text/plain"})
        assert wrong.status_code == 415, wrong.text
        assert wrong.json()["code"] == "unsupported_media_type"
        assert "application/json" in wrong.json()["detail"] and "text/plain" in wrong.json()["detail"]
        # With a key, the stack (not the fast path) answers: the same rule.
        keyed = http.post(path, content=body, headers={"Content-Type": "text/plain", "Idempotency-Key": "k1"})
        assert keyed.status_code == 415, keyed.text
