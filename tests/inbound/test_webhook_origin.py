"""Answers on /webhook/ are served on hookhub's own origin and connections: what a reply or a
fixed response says can neither split an answer on a kept-alive connection nor act on the origin
of the dashboard and the API. Every answer there is sandboxed (CSP), typed and never sniffed."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import connect as websocket_connect

from hookhub.store.db import Database
from hookhub.store.tables import source as source_table
from tests.inbound.conftest import Sources
from tests.support.kept_alive import KeptAlive
from tests.support.server import ServerProcess

SMUGGLED = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 7\r\n\r\nspoofed"


def _key(source: dict[str, Any]) -> str:
    return urlsplit(source["ingestUrl"]).path.rsplit("/", 1)[-1]


def _sandboxed(headers: httpx.Headers | dict[str, str]) -> bool:
    csp, nosniff = headers.get("content-security-policy"), headers.get("x-content-type-options")
    return (csp, nosniff) == ("sandbox", "nosniff")


@contextmanager
def replying(server: ServerProcess, source: dict[str, Any], *replies: dict[str, Any]) -> Iterator[list[int]]:
    """A listener that posts ``replies`` in turn to the first event that waits for one, and
    collects the status each post got."""
    statuses: list[int] = []
    ready = threading.Event()

    def listen() -> None:
        with websocket_connect(server.url.replace("http", "ws") + f"/listen/{_key(source)}") as ws:
            assert json.loads(ws.recv(timeout=20))["type"] == "ready"
            ready.set()
            while not (frame := json.loads(ws.recv(timeout=20))).get("replyId"):
                pass
        for reply in replies:
            url = f"{server.url}/ingest/api/v1/reply/{frame['replyId']}"
            statuses.append(httpx.post(url, json=reply, timeout=20).status_code)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(20)
    yield statuses
    thread.join(20)


@pytest.mark.parametrize("status", [204, 304])
def test_a_reply_cannot_split_the_answer_on_a_kept_alive_connection(
    server: ServerProcess, sources: Sources, status: int
) -> None:
    waits = sources.create(settings={"reply": {"wait": True, "timeoutSeconds": 20}})
    fixed = sources.create(settings={"response": {"status": 201, "body": "second"}})
    splitting = {"status": status, "body": SMUGGLED}
    with (
        replying(server, waits, splitting, {"status": status}) as statuses,
        KeptAlive("127.0.0.1", server.port) as connection,
    ):
        first = connection.ask("POST", f"/webhook/{_key(waits)}", {"content-type": "application/json"}, b"{}")
        second = connection.ask("POST", f"/webhook/{_key(fixed)}", body=b"x")
    assert statuses == [422, 202]  # the splitting reply was refused, the plain one taken
    assert (first.status, first.body) == (status, b"")
    assert (second.status, second.body) == (201, b"second")  # its own answer, not the smuggled one
    assert "content-length" not in first.headers


@pytest.mark.parametrize("status", [204, 304])
def test_a_fixed_204_or_304_has_no_body_on_a_kept_alive_connection(
    sources: Sources, server: ServerProcess, status: int
) -> None:
    bodiless = sources.create(settings={"response": {"status": status}})
    fixed = sources.create(settings={"response": {"status": 201, "body": "second"}})
    with KeptAlive("127.0.0.1", server.port) as connection:
        first = connection.ask("POST", f"/webhook/{_key(bodiless)}", body=b"x")
        second = connection.ask("POST", f"/webhook/{_key(fixed)}", body=b"x")
    assert (first.status, first.body) == (status, b"")
    assert (second.status, second.body) == (201, b"second")


def test_fixed_responses_that_cannot_be_sent_are_refused_when_saved(api: httpx.Client) -> None:
    def create(response: dict[str, Any]) -> httpx.Response:
        return api.post("/ingest/api/v1/source", json={"name": "s", "settings": {"response": response}})

    for status in (204, 304):
        for body in ("no", {"ok": True}, []):
            refused = create({"status": status, "body": body})
            assert refused.status_code == 422, refused.text
            assert f"a {status} answer has no body" in refused.text
        assert create({"status": status, "body": ""}).status_code == 201
    bad_types = ("text/html\r\nSet-Cookie: a=1", "text/plain\x00", "text/plain; x=é", "html", "a b/c")
    for content_type in bad_types:
        refused = create({"contentType": content_type})
        assert refused.status_code == 422, (content_type, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", "settings", "response", "contentType"]
    assert create({"status": 100}).status_code == 422
    assert create({"contentType": 'text/plain; charset="utf-8"'}).status_code == 201


def test_fixed_responses_stored_before_the_checks_are_served_safely(
    sources: Sources, server: ServerProcess
) -> None:
    """Settings saved before the checks: the body of a 204 is left out, a content type that cannot
    be sent gives way to the default, and neither is a 500."""
    no_content = sources.create(settings={"response": {"status": 204}})
    broken_type = sources.create(settings={"response": {"status": 200, "body": "ok"}})
    _store_settings(server.database_url, no_content["id"], {"response": {"status": 204, "body": SMUGGLED}})
    broken = {"response": {"body": "ok", "contentType": "text/html\r\nX: 1"}}
    _store_settings(server.database_url, broken_type["id"], broken)
    with KeptAlive("127.0.0.1", server.port) as connection:
        first = connection.ask("POST", f"/webhook/{_key(no_content)}", body=b"x")
        second = connection.ask("POST", f"/webhook/{_key(broken_type)}", body=b"x")
    assert (first.status, first.body) == (204, b"")
    assert (second.status, second.body) == (200, b"ok")
    assert second.headers["content-type"] == "text/plain; charset=utf-8"


def _store_settings(database_url: str, source_id: str, settings: dict[str, Any]) -> None:
    async def write() -> None:
        db = Database(database_url)
        try:
            async with db.write() as conn:
                where = source_table.c.id == source_id
                await conn.execute(sa.update(source_table).where(where).values(settings=settings))
        finally:
            await db.close()

    asyncio.run(write())


def test_every_answer_on_webhook_is_sandboxed_typed_and_never_sniffed(
    server: ServerProcess, sources: Sources
) -> None:
    fixed = sources.create(settings={"response": {"body": "<b>ok</b>", "contentType": "text/html"}})
    post_only = sources.create(settings={"methods": ["POST"]})
    bearer = sources.create(settings={"auth": {"type": "bearer"}})
    small = sources.create(settings={"maxBodyBytes": 1})
    throttled = sources.create(settings={"throttle": {"limit": 1, "periodSeconds": 60}})
    meta = sources.create(type="meta", config={"secret": "app-secret", "verifyToken": "tok"})
    fitbit = sources.create(type="fitbit", config={"secret": "s", "verifyCode": "code"})
    secret = sources.create(settings={"listenSecret": "listen-secret-1"})
    waits = sources.create(settings={"reply": {"wait": True, "timeoutSeconds": 20}})
    times_out = sources.create(settings={"reply": {"wait": True, "timeoutSeconds": 0.2}})
    challenge = {
        "hub.mode": "subscribe",
        "hub.verify_token": "tok",
        "hub.challenge": "<script>alert(1)</script>",
    }
    html_reply = {"status": 200, "headers": {"Content-Type": "text/html"}, "body": "<script>1</script>"}
    answers: dict[str, httpx.Response] = {}
    with httpx.Client(timeout=30) as client:
        answers["fixed"] = client.post(fixed["ingestUrl"], content=b"x")
        answers["unknown source"] = client.post(f"{server.url}/webhook/no-such-key", content=b"x")
        answers["method"] = client.get(post_only["ingestUrl"])
        answers["credentials"] = client.post(bearer["ingestUrl"], content=b"x")
        answers["size"] = client.post(small["ingestUrl"], content=b"too large")
        answers["malformed"] = client.post(
            fixed["ingestUrl"], content=b"{", headers={"content-type": "application/json"}
        )
        client.post(throttled["ingestUrl"], content=b"x")
        answers["throttle"] = client.post(throttled["ingestUrl"], content=b"x")
        answers["preflight"] = client.options(fixed["ingestUrl"])
        answers["meta challenge"] = client.get(meta["ingestUrl"], params=challenge)
        answers["meta refused"] = client.get(
            meta["ingestUrl"], params={**challenge, "hub.verify_token": "no"}
        )
        answers["fitbit"] = client.get(fitbit["ingestUrl"], params={"verify": "code"})
        answers["fitbit refused"] = client.get(fitbit["ingestUrl"], params={"verify": "no"})
        with replying(server, waits, html_reply):
            answers["reply"] = client.post(waits["ingestUrl"], content=b"x")
        answers["reply timeout"] = client.post(times_out["ingestUrl"], content=b"x")
        answers["smee refused"] = client.get(secret["ingestUrl"], headers={"accept": "text/event-stream"})
        with client.stream("GET", fixed["ingestUrl"], headers={"accept": "text/event-stream"}) as smee:
            answers["smee channel"] = smee
    expected = {
        "fixed": (200, "text/html"),
        "unknown source": (404, "application/json"),
        "method": (405, "application/json"),
        "credentials": (401, "application/json"),
        "size": (413, "application/json"),
        "malformed": (400, "application/json"),
        "throttle": (429, "application/json"),
        "preflight": (204, None),
        "meta challenge": (200, "text/plain; charset=utf-8"),
        "meta refused": (403, "application/json"),
        "fitbit": (204, None),
        "fitbit refused": (404, "application/json"),
        "reply": (200, "text/html"),
        "reply timeout": (504, "application/json"),
        "smee refused": (401, "application/json"),
        "smee channel": (200, "text/event-stream; charset=utf-8"),
    }
    for name, answer in answers.items():
        status, content_type = expected[name]
        assert answer.status_code == status, (name, answer.text)
        assert _sandboxed(answer.headers), (name, answer.headers)
        if content_type is not None:
            assert answer.headers.get("content-type") == content_type, (name, answer.headers)
