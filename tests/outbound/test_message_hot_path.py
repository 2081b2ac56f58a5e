"""The plain-ASGI message create path and group commit behave like the rest of the API."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from svix.api import ApplicationOut, EndpointIn, Svix

from tests.outbound.rows import delivery_endpoints
from tests.support.raw_http import send_cut_short
from tests.support.server import ServerProcess

HOOK = "http://127.0.0.1:9/hook"


def test_errors_and_headers_match_the_api_stack(server: ServerProcess, app: ApplicationOut) -> None:
    url = f"{server.url}/api/v1/app/{app.id}/msg/"
    body = {"eventType": "a", "payload": {"k": "v"}}
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer sk_wrong"}).status_code == 401
    too_big = httpx.post(url, content=b"{" + b" " * (1024 * 1024 + 10) + b"}", headers=server.headers)
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"

    ok = httpx.post(url, json=body, headers={**server.headers, "Origin": "https://example.org"})
    assert ok.status_code == 202
    assert ok.headers["access-control-allow-origin"] == "*"
    assert ok.headers["content-type"] == "application/json"
    assert ok.json()["payload"] == {"k": "v"}

    without = httpx.post(url, params={"with_content": "false"}, json=body, headers=server.headers)
    assert without.json()["payload"] == {}


def test_concurrent_creates_keep_event_ids_unique(
    server: ServerProcess, svix: Svix, app: ApplicationOut
) -> None:
    svix.endpoint.create(app.id, EndpointIn(url=HOOK))
    url = f"{server.url}/api/v1/app/{app.id}/msg"

    def post(i: int) -> httpx.Response:
        event_id = "shared" if i % 2 == 0 else f"own-{i}"
        with httpx.Client(headers=server.headers, timeout=30) as client:
            return client.post(url, json={"eventType": "a", "eventId": event_id, "payload": {"i": i}})

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(post, range(32)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(202) == 17 and statuses.count(409) == 15, statuses
    created = [r.json()["id"] for r in responses if r.status_code == 202]
    with server.client() as api:
        listed = api.get(f"/api/v1/app/{app.id}/msg", params={"limit": 250}).json()["data"]
    assert sorted(m["id"] for m in listed) == sorted(created)
    for message_id in created:
        assert len(delivery_endpoints(server.database_url, message_id)) == 1


def test_a_failing_message_does_not_fail_its_batch(
    server: ServerProcess, svix: Svix, app: ApplicationOut
) -> None:
    """One request creates an application whose uid is taken (a database error inside the batch)."""
    url = server.url + "/api/v1/app/{}/msg"

    def post(i: int) -> httpx.Response:
        with httpx.Client(headers=server.headers, timeout=30) as client:
            if i == 5:
                body = {"eventType": "a", "payload": {}, "application": {"name": "dup", "uid": app.uid}}
                return client.post(url.format(f"fresh-{uuid.uuid4().hex[:8]}"), json=body)
            return client.post(url.format(app.id), json={"eventType": "a", "payload": {"i": i}})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, range(12)))
    assert [r.status_code for r in responses].count(202) == 11
    assert responses[5].status_code == 409, responses[5].text
    with server.client() as api:
        assert len(api.get(f"/api/v1/app/{app.id}/msg").json()["data"]) == 11


def test_a_body_cut_short_by_a_disconnect_creates_nothing(server: ServerProcess, app: ApplicationOut) -> None:
    """The client leaves before its whole Content-Length arrived: what did arrive parses as JSON,
    yet neither the message create fast path nor the API stack acts on it."""
    headers = {**server.headers, "Content-Type": "application/json"}
    message = b'{"eventType": "a", "payload": {}}'
    send_cut_short(f"{server.url}/api/v1/app/{app.id}/msg", message, 1000, headers)
    uid = f"cut-{uuid.uuid4().hex[:8]}"
    application = b'{"name": "cut short", "uid": "%b"}' % uid.encode()
    send_cut_short(f"{server.url}/api/v1/app", application, 1000, headers)
    with server.client() as api:
        whole = api.post(f"/api/v1/app/{app.id}/msg", json={"eventType": "whole", "payload": {}})
        assert whole.status_code == 202
        time.sleep(0.5)  # what the cut-short requests would have written has been written by now
        listed = api.get(f"/api/v1/app/{app.id}/msg").json()["data"]
        assert [m["eventType"] for m in listed] == ["whole"]
        assert api.get(f"/api/v1/app/{uid}").status_code == 404
