"""Tokens and scopes (org vs app-scoped portal tokens) and Idempotency-Key replays."""

from __future__ import annotations

import uuid

import httpx
import pytest
from svix.api import (
    ApplicationIn,
    ApplicationOut,
    ApplicationTokenExpireIn,
    AppPortalAccessIn,
    EndpointIn,
    EndpointSecretRotateIn,
    EventTypeIn,
    MessageIn,
    Svix,
    SvixOptions,
)
from svix.api.application import ApplicationCreateOptions
from svix.exceptions import HttpError

from tests.support.server import ServerProcess

HOOK = "http://127.0.0.1:9/hook"


def _portal(svix: Svix, app_id: str) -> tuple[str, str]:
    access = svix.authentication.app_portal_access(app_id, AppPortalAccessIn())
    return access.url, access.token


def test_wrong_or_missing_token_is_401(server: ServerProcess) -> None:
    bad = Svix("sk_not-a-real-token", SvixOptions(server_url=server.url))
    with pytest.raises(HttpError) as denied:
        bad.application.list()
    assert denied.value.status_code == 401
    assert httpx.get(f"{server.url}/api/v1/app").status_code == 401
    assert httpx.post(f"{server.url}/api/v1/app/x/msg", json={}).status_code == 401


def test_portal_token_is_scoped_to_its_app(server: ServerProcess, svix: Svix, app: ApplicationOut) -> None:
    other = svix.application.create(ApplicationIn(name="other"))
    url, token = _portal(svix, app.uid)
    assert url == f"{server.url}/portal#token={token}"
    portal = Svix(token, SvixOptions(server_url=server.url))

    assert portal.application.get(app.id).id == app.id
    assert [a.id for a in portal.application.list().data] == [app.id]
    ep = portal.endpoint.create(app.id, EndpointIn(url=HOOK))
    assert portal.endpoint.get(app.uid, ep.id).url == HOOK
    assert portal.endpoint.get_secret(app.id, ep.id).key == svix.endpoint.get_secret(app.id, ep.id).key
    assert portal.message.create(app.id, MessageIn(event_type="a", payload={})).id.startswith("msg_")
    portal.event_type.list()  # reading event types is allowed (the portal shows them)

    forbidden = [
        lambda: portal.application.get(other.id),
        lambda: portal.endpoint.list(other.id),
        lambda: portal.message.create(other.id, MessageIn(event_type="a", payload={})),
        lambda: portal.application.create(ApplicationIn(name="nope")),
        lambda: portal.event_type.create(EventTypeIn(name=f"n-{uuid.uuid4().hex[:6]}", description="d")),
        lambda: portal.application.delete(app.id),
        lambda: portal.authentication.app_portal_access(app.id, AppPortalAccessIn()),
    ]
    for call in forbidden:
        with pytest.raises(HttpError) as denied:
            call()
        assert denied.value.status_code == 403
    assert svix.endpoint.list(other.id).data == []
    assert svix.application.get(app.id).name == app.name


def test_a_read_only_portal_link_reads_and_changes_nothing(
    server: ServerProcess, svix: Svix, app: ApplicationOut
) -> None:
    endpoint = svix.endpoint.create(app.id, EndpointIn(url=HOOK))
    svix.message.create(app.id, MessageIn(event_type="ro.test", payload={"n": 1}))
    access = svix.authentication.app_portal_access(app.id, AppPortalAccessIn(read_only=True))
    reader = Svix(access.token, SvixOptions(server_url=server.url))
    assert reader.endpoint.get(app.id, endpoint.id).url == HOOK
    assert len(reader.message.list(app.id).data) == 1
    forbidden = [
        lambda: reader.endpoint.create(app.id, EndpointIn(url=HOOK + "/2")),
        lambda: reader.endpoint.delete(app.id, endpoint.id),
        lambda: reader.message.create(app.id, MessageIn(event_type="ro.test", payload={})),  # the fast path
        lambda: reader.endpoint.rotate_secret(app.id, endpoint.id, EndpointSecretRotateIn()),
        lambda: reader.endpoint.get_secret(app.id, endpoint.id),  # a read, but of a secret
    ]
    for call in forbidden:
        with pytest.raises(HttpError) as denied:
            call()
        assert denied.value.status_code == 403
        assert "read-only" in str(denied.value.to_dict())
    assert len(svix.endpoint.list(app.id).data) == 1
    headers = {"Authorization": f"Bearer {access.token}"}
    session = httpx.get(f"{server.url}/ui/session", headers=headers).json()
    assert session == {"scope": "app", "appId": app.id, "readOnly": True}
    precheck = httpx.post(
        f"{server.url}/api/v1/app/{app.id}/msg/precheck/active",
        json={"eventType": "ro.test"},
        headers=headers,
    )
    assert precheck.status_code == 200, precheck.text
    assert httpx.post(f"{server.url}/api/v1/auth/logout", headers=headers).status_code == 204
    assert httpx.get(f"{server.url}/api/v1/app/{app.id}", headers=headers).status_code == 401


def test_expire_all_revokes_portal_tokens(server: ServerProcess, svix: Svix, app: ApplicationOut) -> None:
    _, token = _portal(svix, app.id)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/v1/app/{app.id}", headers=headers).status_code == 200
    svix.authentication.expire_all(app.id, ApplicationTokenExpireIn())
    assert httpx.get(f"{server.url}/api/v1/app/{app.id}", headers=headers).status_code == 401


def test_portal_access_for_unknown_app_is_404(api: httpx.Client) -> None:
    assert api.post("/api/v1/auth/app-portal-access/no-such-app", json={}).status_code == 404


def test_idempotent_create_with_the_sdk(svix: Svix) -> None:
    key = f"key-{uuid.uuid4()}"
    options = ApplicationCreateOptions(idempotency_key=key)
    first = svix.application.create(ApplicationIn(name="once"), options)
    second = svix.application.create(ApplicationIn(name="once"), options)
    assert second.id == first.id and second.created_at == first.created_at


def test_idempotent_message_replay_is_byte_identical(api: httpx.Client, app: ApplicationOut) -> None:
    url = f"/api/v1/app/{app.id}/msg"
    body = {"eventType": "a", "payload": {"n": 1}}
    headers = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = api.post(url, json=body, headers=headers)
    second = api.post(url, json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.content == first.content
    assert len(api.get(url).json()["data"]) == 1
    third = api.post(url, json=body, headers={"Idempotency-Key": f"k-{uuid.uuid4()}"})
    assert third.json()["id"] != first.json()["id"]
    assert len(api.get(url).json()["data"]) == 2


def test_a_revoked_token_gets_no_replay_of_its_answers(
    server: ServerProcess, svix: Svix, app: ApplicationOut
) -> None:
    """A stored answer may hold a secret: the token is verified before the key is looked up, so
    once revoked (or expired) it gets the 401 any other request of it gets."""
    endpoint = svix.endpoint.create(app.id, EndpointIn(url=HOOK))
    _, token = _portal(svix, app.id)
    rotate = f"{server.url}/api/v1/app/{app.id}/endpoint/{endpoint.id}/secret/rotate"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"rotate-{uuid.uuid4()}"}
    first = httpx.post(rotate, json={}, headers=headers)
    assert first.status_code == 200, first.text
    secret = first.json()["key"]
    assert svix.endpoint.get_secret(app.id, endpoint.id).key == secret
    assert httpx.post(rotate, json={}, headers=headers).content == first.content  # a replay

    svix.authentication.expire_all(app.id, ApplicationTokenExpireIn())
    replay = httpx.post(rotate, json={}, headers=headers)
    assert replay.status_code == 401, replay.text
    assert replay.json()["code"] == "authentication_failed"
    assert secret not in replay.text and "idempotent-replayed" not in replay.headers
    # Routes that need no token still take a key: the reply capability is checked by its route.
    reply = httpx.post(
        f"{server.url}/ingest/api/v1/reply/no-such-reply", json={}, headers={"Idempotency-Key": "k"}
    )
    assert reply.status_code == 404, reply.text
