"""The sources API through the official svix SDK (ingest.source / ingest.endpoint), key rotation,
destinations fed by the delivery engine, event search and replay."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from svix.api import IngestEndpointIn, IngestSourceIn, Svix, SvixOptions
from svix.api.ingest_source import IngestSourceListOptions

from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess


@pytest.fixture
def svix(server: ServerProcess) -> Svix:
    return Svix(server.token, SvixOptions(server_url=server.url))


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[str, dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    thread = threading.Thread(target=made.httpd.serve_forever, daemon=True)
    thread.start()
    yield made
    made.httpd.shutdown()


def test_svix_sdk_source_lifecycle(svix: Svix, api: httpx.Client) -> None:
    created = svix.ingest.source.create(
        IngestSourceIn(name="gh", uid="gh-main", type="github", config={"secret": "s"})
    )
    assert created.id.startswith("src_") and created.ingest_url.startswith("http://127.0.0.1")
    assert svix.ingest.source.get("gh-main").id == created.id
    listed = svix.ingest.source.list(IngestSourceListOptions(limit=250))
    assert created.id in [item.id for item in listed.data]

    # hookhub settings set over plain HTTP survive an SDK upsert (which never sends them).
    api.put(
        f"/ingest/api/v1/source/{created.id}",
        json={"name": "gh", "type": "github", "settings": {"methods": ["POST"]}},
    )
    renamed = svix.ingest.source.upsert("gh-main", IngestSourceIn(name="renamed", type="github", config={}))
    assert renamed.name == "renamed"
    assert api.get(f"/ingest/api/v1/source/{created.id}").json()["settings"]["methods"] == ["POST"]
    assert api.get(f"/ingest/api/v1/source/{created.id}").json()["config"] == {}  # secret kept, not shown

    made_by_put = svix.ingest.source.upsert(
        "new-uid", IngestSourceIn(name="fresh", type="generic-webhook", config={})
    )
    assert made_by_put.uid == "new-uid"
    svix.ingest.source.delete("new-uid")
    assert api.get("/ingest/api/v1/source/new-uid").status_code == 404
    duplicate = api.post("/ingest/api/v1/source", json={"name": "x", "uid": "gh-main"})
    assert duplicate.status_code == 409


def test_token_rotate_changes_the_url(svix: Svix, api: httpx.Client) -> None:
    source = svix.ingest.source.create(IngestSourceIn(name="r", type="generic-webhook", config={}))
    old_url = source.ingest_url
    assert httpx.post(old_url, json={}).status_code == 200
    rotated = svix.ingest.source.rotate_token(source.id)
    assert rotated.ingest_url != old_url
    assert httpx.post(old_url, json={}).status_code == 404
    assert httpx.post(rotated.ingest_url, json={}).status_code == 200

    graced = api.post(f"/ingest/api/v1/source/{source.id}/token/rotate", json={"gracePeriodSeconds": 3600})
    assert graced.status_code == 200
    assert httpx.post(rotated.ingest_url, json={}).status_code == 200  # still in its grace period
    assert httpx.post(graced.json()["ingestUrl"], json={}).status_code == 200


def test_destinations_receive_events_and_replay(
    svix: Svix, sources: Sources, receiver: Receiver, api: httpx.Client
) -> None:
    source = sources.create(name="fwd", settings={"eventTypeFrom": "body.type"})
    endpoint = svix.ingest.endpoint.create(source["id"], IngestEndpointIn(url=receiver.url))
    only_paid = api.post(
        f"/ingest/api/v1/source/{source['id']}/endpoint",
        json={"url": receiver.url + "/paid", "filterTypes": ["invoice.paid"]},
    )
    assert only_paid.status_code == 201, only_paid.text
    body = b'{"type": "invoice.created", "n": 1}'
    assert (
        httpx.post(
            source["ingestUrl"], content=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 200
    )
    [(path, headers, received)] = receiver.wait_for(1)
    assert path == "/hook" and received == body
    secret = svix.ingest.endpoint.get_secret(source["id"], endpoint.id).key
    Webhook(secret).verify(
        received, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    )

    [event] = sources.events(source["id"])
    replay = api.post(f"/ingest/api/v1/source/{source['id']}/event/{event['id']}/replay")
    assert replay.status_code == 202 and replay.json()["deliveriesEnqueued"] == 1
    assert [r[2] for r in receiver.wait_for(2)] == [body, body]
    missing = api.post(f"/ingest/api/v1/source/{source['id']}/event/evt_nope/replay")
    assert missing.status_code == 404


def test_events_search_and_pagination(sources: Sources, api: httpx.Client) -> None:
    source = sources.create(name="search", settings={"eventTypeFrom": "body.action"})
    for action in ["a", "b", "a", "c", "a"]:
        httpx.post(source["ingestUrl"], json={"action": action})
    assert [e["eventType"] for e in sources.events(source["id"])] == ["a", "c", "a", "b", "a"]  # newest first
    assert len(sources.events(source["id"], event_type="a")) == 3
    both = api.get(
        f"/ingest/api/v1/source/{source['id']}/event", params=[("event_type", "b"), ("event_type", "c")]
    )
    assert sorted(e["eventType"] for e in both.json()["data"]) == ["b", "c"]

    first = api.get(f"/ingest/api/v1/source/{source['id']}/event", params={"limit": 2}).json()
    assert len(first["data"]) == 2 and not first["done"]
    rest = api.get(
        f"/ingest/api/v1/source/{source['id']}/event", params={"limit": 2, "iterator": first["iterator"]}
    ).json()
    assert [e["id"] for e in rest["data"]] == [e["id"] for e in sources.events(source["id"])[2:4]]

    one = api.get(f"/ingest/api/v1/source/{source['id']}/event/{first['data'][0]['id']}").json()
    assert one["eventType"] == "a" and one["sourceIp"] == "127.0.0.1"
    assert api.get(f"/ingest/api/v1/source/{source['id']}/event/evt_missing").status_code == 404


def test_api_needs_a_token(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/ingest/api/v1/source").status_code == 401
    assert httpx.post(f"{server.url}/ingest/api/v1/source", json={"name": "x"}).status_code == 401


def test_providers_outside_svix_types_stay_readable_by_the_sdk(svix: Svix, api: httpx.Client) -> None:
    made = api.post(
        "/ingest/api/v1/source", json={"name": "t", "type": "twilio", "config": {"secret": "tok"}}
    ).json()
    assert made["type"] == "generic-webhook" and made["config"] == {"provider": "twilio"}
    assert svix.ingest.source.get(made["id"]).type == "generic-webhook"
    assert made["id"] in [s.id for s in svix.ingest.source.list(IngestSourceListOptions(limit=250)).data]
    # An SDK upsert (type generic-webhook, empty config) keeps the provider and its secret.
    svix.ingest.source.upsert(made["id"], IngestSourceIn(name="renamed", type="generic-webhook", config={}))
    twiml = httpx.post(made["ingestUrl"], data={"a": "b"})
    assert twiml.status_code == 401 and "x-twilio-signature" in twiml.json()["detail"]


def test_headers_a_source_would_send_are_checked_when_saved(sources: Sources, api: httpx.Client) -> None:
    """The answer's content type goes out on every ingest and a test request's headers become a
    stored request: a control character in either would break every request later, so it is a
    422 now."""
    bad_type = {"name": "bad type", "settings": {"response": {"contentType": "text/plain\r\nX-Injected: 1"}}}
    refused = api.post("/ingest/api/v1/source", json=bad_type)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "settings", "response", "contentType"]

    source = sources.create(settings={"response": {"body": "ok", "contentType": "text/plain; charset=utf-8"}})
    answer = httpx.post(source["ingestUrl"], content=b"{}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/plain; charset=utf-8"
    test_url = f"/ingest/api/v1/source/{source['id']}/test"
    for headers in ({"X-A": "a\u0000b"}, {"X-A": "line\nbreak"}, {"X A": "v"}, {"X-A": "\u20ac"}):
        tried = api.post(test_url, json={"headers": headers, "body": {}})
        assert tried.status_code == 422, (headers, tried.text)
        assert tried.json()["detail"][0]["loc"] == ["body", "headers"]
    assert len(sources.events(source["id"])) == 1
