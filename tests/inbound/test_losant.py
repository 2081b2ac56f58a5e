"""Losant: basic auth variants, handshakes, fixed responses, replies, throttling, test requests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading

import httpx
import pytest
import sqlalchemy as sa
import websockets

from hookhub.store.db import Database
from hookhub.store.tables import source
from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess


@pytest.mark.parametrize(
    ("username", "password", "good", "bad"),
    [
        ("user", "pass", ("user", "pass"), [("user", "wrong"), ("other", "pass"), ("user", "")]),
        ("user", "", ("user", ""), [("user", "x"), ("", "")]),
        ("", "secret", ("", "secret"), [("x", "secret"), ("", "")]),
    ],
)
def test_basic_auth_with_optional_parts(
    sources: Sources, username: str, password: str, good: tuple, bad: list[tuple]
) -> None:
    auth = {"type": "basic", "username": username, "password": password}
    source = sources.create(name="losant", settings={"auth": auth})
    url = source["ingestUrl"]
    assert httpx.post(url, json={}).status_code == 401
    for credentials in bad:
        response = httpx.post(url, json={}, auth=credentials)
        assert response.status_code == 401, credentials
        assert "auth (basic)" in response.json()["detail"]
    assert httpx.post(url, json={}, auth=good).status_code == 200
    assert len(sources.events(source["id"])) == 1
    assert "password" not in source["settings"]["auth"]


def test_basic_auth_password_survives_an_update(sources: Sources, api: httpx.Client) -> None:
    source = sources.create(name="b", settings={"auth": {"type": "basic", "username": "u", "password": "p"}})
    shown = source["settings"]
    shown["auth"].pop("passwordSet")
    shown["methods"] = ["POST"]
    updated = api.put(f"/ingest/api/v1/source/{source['id']}", json={"name": "renamed", "settings": shown})
    assert updated.status_code == 200, updated.text
    assert httpx.post(source["ingestUrl"], json={}, auth=("u", "p")).status_code == 200
    assert httpx.get(source["ingestUrl"], auth=("u", "p")).status_code == 405


def test_meta_hub_challenge(sources: Sources) -> None:
    source = sources.create(type="meta", config={"secret": "app-secret", "verifyToken": "my-token"})
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "my-token"}
    answer = httpx.get(source["ingestUrl"], params=params)
    assert answer.status_code == 200 and answer.text == "1158201444"
    wrong = httpx.get(source["ingestUrl"], params={**params, "hub.verify_token": "nope"})
    assert wrong.status_code == 403
    assert sources.events(source["id"]) == []


def test_no_verification_with_chosen_status_and_body(sources: Sources) -> None:
    plain = sources.create(settings={"response": {"status": 202}})
    answer = httpx.post(plain["ingestUrl"], json={"a": 1})
    assert answer.status_code == 202 and answer.json() == {"ok": True}
    fixed = sources.create(
        settings={"response": {"status": 201, "body": "<ok/>", "contentType": "application/xml"}}
    )
    answer = httpx.post(fixed["ingestUrl"], json={"a": 1})
    assert answer.status_code == 201
    assert answer.text == "<ok/>" and answer.headers["content-type"] == "application/xml"
    empty = sources.create(settings={"response": {"status": 204}})
    assert httpx.get(empty["ingestUrl"]).status_code == 204


def test_throttling_at_request_101(sources: Sources) -> None:
    source = sources.create(name="throttled")
    other = sources.create(name="not throttled")
    with httpx.Client(timeout=30) as client:
        codes = [client.post(source["ingestUrl"], json={"n": n}).status_code for n in range(101)]
        assert codes[:100] == [200] * 100
        assert codes[100] == 429
        over = client.post(source["ingestUrl"], json={})
        assert over.json() == {"code": "rate_limited", "detail": "Over rate limit, request throttled"}
        assert 1 <= int(over.headers["retry-after"]) <= 10
        assert client.post(other["ingestUrl"], json={}).status_code == 200  # per source
    assert len(sources.events(source["id"])) == 100


def test_settings_are_validated_strictly(api: httpx.Client) -> None:
    def create(settings: dict) -> httpx.Response:
        return api.post("/ingest/api/v1/source", json={"name": "s", "settings": settings})

    assert create({"nope": 1}).status_code == 422
    assert create({"throttle": {"limit": 10, "period": 1}}).status_code == 422
    assert create({"routeKeyPath": "query['homey'"}).status_code == 422
    assert create({"eventTypeFrom": "os.system('x')"}).status_code == 422
    assert create({"schema": {"type": "not-a-type"}}).status_code == 422
    assert create({"methods": ["TRACE"]}).status_code == 422
    assert create({"auth": {"type": "basic"}}).status_code == 422
    assert create({"auth": {"type": "magic"}}).status_code == 422
    assert create({"response": {"status": 99}}).status_code == 422
    detail = create({"eventTypeFrom": "nothing.here"}).json()["detail"]
    assert detail[0]["loc"][:2] == ["body", "settings"]


def test_test_request_runs_the_real_pipeline(sources: Sources, api: httpx.Client) -> None:
    source = sources.create(
        settings={"auth": {"type": "basic", "username": "u", "password": ""}, "eventTypeFrom": "query.kind"}
    )
    url = f"/ingest/api/v1/source/{source['id']}/test"
    denied = api.post(url, json={"method": "POST", "path": "/a", "body": {"x": 1}})
    assert denied.status_code == 200
    assert denied.json()["status"] == 401 and "auth (basic)" in denied.json()["body"]
    headers = {"Authorization": "Basic dTo="}  # u:
    result = api.post(
        url, json={"method": "POST", "path": "/a/b?kind=test&x=1", "headers": headers, "body": {"x": 1}}
    )
    assert result.status_code == 200
    outcome = result.json()
    assert outcome["status"] == 200 and json.loads(outcome["body"]) == {"ok": True}
    [event] = sources.events(source["id"])
    assert event["id"] == outcome["eventId"]
    assert (event["path"], event["query"], event["eventType"]) == ("/a/b", "kind=test&x=1", "test")
    spaced = api.post(url, json={"method": "GET", "path": "/a%20b/c?kind=x", "headers": headers})
    assert spaced.json()["status"] == 200
    assert sources.events(source["id"], event_type="x")[0]["path"] == "/a b/c"
    assert json.loads(event["body"]) == {"x": 1}


def test_test_request_headers_are_what_http_can_carry(sources: Sources, api: httpx.Client) -> None:
    """A header value beyond visible ASCII is the caller's error (422, as for endpoint headers and
    replies); a well-formed one with a bad timestamp reaches the verifier, which says which check
    failed."""
    source = sources.create(type="stripe", config={"secret": "whsec_x"})
    url = f"/ingest/api/v1/source/{source['id']}/test"
    for value in ("t=\uff11\uff12\uff13,v1=ab", "t=\u00b2\u00b3,v1=ab", "t=1\r\nX-Injected: 1"):
        refused = api.post(url, json={"headers": {"Stripe-Signature": value}, "body": {}})
        assert refused.status_code == 422, refused.text
        assert "beyond ASCII" in json.dumps(refused.json())
    lettered = api.post(url, json={"headers": {"Stripe-Signature": "t=abc,v1=ab"}, "body": {}})
    assert lettered.status_code == 200, lettered.text
    answer = lettered.json()
    assert answer["status"] == 401 and "signature (stripe-timestamp)" in answer["body"]
    assert sources.events(source["id"]) == []


def test_custom_reply_from_a_listener_and_timeout(server: ServerProcess, sources: Sources) -> None:
    source = sources.create(settings={"reply": {"wait": True, "timeoutSeconds": 5}})
    key = source["ingestUrl"].rsplit("/", 1)[1]
    listen_url = server.url.replace("http://", "ws://") + f"/listen/{key}"
    ready = threading.Event()
    seen: list[dict] = []

    async def listener() -> None:
        async with websockets.connect(listen_url) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert hello["type"] == "ready"  # registered: events published from now on reach us
            ready.set()
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if frame.get("replyId"):
                    seen.append(frame)
                    async with httpx.AsyncClient() as client:
                        await client.post(
                            f"{server.url}/ingest/api/v1/reply/{frame['replyId']}",
                            json={
                                "status": 201,
                                "headers": {"X-Answer": "yes"},
                                "body": {"got": frame["body"]},
                            },
                        )
                    return

    thread = threading.Thread(target=lambda: asyncio.run(listener()))
    thread.start()
    assert ready.wait(10)
    answer = httpx.post(source["ingestUrl"], json={"question": 42}, timeout=20)
    thread.join(20)
    assert answer.status_code == 201
    assert answer.json() == {"got": {"question": 42}}
    assert answer.headers["x-answer"] == "yes"
    assert seen and len(seen[0]["replyId"]) >= 32

    quick = sources.create(settings={"reply": {"wait": True, "timeoutSeconds": 0.5}})
    timed_out = httpx.post(quick["ingestUrl"], json={}, timeout=20)
    assert timed_out.status_code == 504
    assert timed_out.json()["code"] == "reply_timeout"
    [event] = sources.events(quick["id"])
    assert event["response"]["status"] == 504


def test_basic_auth_password_is_stored_as_a_salted_hash(sources: Sources, server: ServerProcess) -> None:
    auth = {"type": "basic", "username": "u", "password": "never-in-the-db"}
    source = sources.create(name="hashed", settings={"auth": auth})
    twin = sources.create(name="same password", settings={"auth": auth})
    stored = _stored_settings(server.database_url, source["id"])["auth"]["passwordHash"]
    twin_stored = _stored_settings(server.database_url, twin["id"])["auth"]["passwordHash"]
    assert "never-in-the-db" not in stored
    scheme, salt, digest = stored.split("$")
    assert scheme == "s256"
    assert digest == hmac.new(bytes.fromhex(salt), b"never-in-the-db", hashlib.sha256).hexdigest()
    assert twin_stored != stored  # a salt of its own
    assert digest != hashlib.sha256(b"never-in-the-db").hexdigest()
    assert source["settings"]["auth"] == {"type": "basic", "username": "u", "passwordSet": True}
    assert httpx.post(source["ingestUrl"], json={}, auth=("u", "never-in-the-db")).status_code == 200
    assert httpx.post(source["ingestUrl"], json={}, auth=("u", "never-in-the-dB")).status_code == 401


def test_a_password_hash_cannot_be_sent(sources: Sources, api: httpx.Client) -> None:
    settings = {"auth": {"type": "basic", "username": "u", "passwordHash": "0" * 64}}
    response = api.post("/ingest/api/v1/source/", json={"name": "x", "settings": settings})
    assert response.status_code == 422
    assert "passwordHash" in response.text


def _stored_settings(database_url: str, source_id: str) -> dict:
    async def read() -> dict:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return (
                    await conn.execute(sa.select(source.c.settings).where(source.c.id == source_id))
                ).scalar_one()
        finally:
            await db.close()

    return asyncio.run(read())
