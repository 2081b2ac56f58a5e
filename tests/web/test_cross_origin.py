"""Chromium on a page of another origin calls hookhub with ``fetch``: an ingest POST (preflighted:
JSON body) and a message create (Authorization header) go through CORS, and the page can read the
answer and its ``X-Hookhub-Event-Id`` header. Requests without ``Origin`` get no CORS headers, on
the fast paths as on the API stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx
from playwright.sync_api import Page

from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess

PAGE = b"<!doctype html><title>another origin</title>"


@contextmanager
def other_origin() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


FETCH = """async ([url, headers, body]) => {
    const response = await fetch(url, {method: "POST", headers, body});
    return {status: response.status, eventId: response.headers.get("x-hookhub-event-id"),
            body: await response.text()};
}"""


def test_a_page_of_another_origin_ingests_and_creates_messages(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    source = Sources(api).create(name="browser sender")
    app_id = api.post("/api/v1/app", json={"name": "browser"}).json()["id"]
    with other_origin() as origin:
        page.goto(origin)
        json_body = {"content-type": "application/json"}
        ingested = page.evaluate(FETCH, [source["ingestUrl"], json_body, '{"a": 1}'])
        created = page.evaluate(
            FETCH,
            [
                f"{server.url}/api/v1/app/{app_id}/msg",
                {"content-type": "application/json", "authorization": f"Bearer {server.token}"},
                '{"eventType": "browser.sent", "payload": {"b": 2}}',
            ],
        )
    assert ingested["status"] == 200
    stored = api.get(f"/ingest/api/v1/source/{source['id']}/event").json()["data"]
    assert [event["id"] for event in stored] == [ingested["eventId"]]
    assert created["status"] == 202 and '"browser.sent"' in created["body"]


def _cors(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def test_cors_headers_only_for_requests_with_an_origin(server: ServerProcess, api: httpx.Client) -> None:
    source = Sources(api).create(name="cors")
    app_id = api.post("/api/v1/app", json={"name": "cors"}).json()["id"]
    message_url = f"{server.url}/api/v1/app/{app_id}/msg"
    body = {"eventType": "a", "payload": {}}
    browser = {"Origin": "https://example.org"}
    expected = {"access-control-allow-origin": "*", "access-control-expose-headers": "*"}
    for sent, wanted in ((browser, expected), ({}, {})):
        ingest = httpx.post(source["ingestUrl"], json={}, headers=sent)
        fast = httpx.post(message_url, json=body, headers={**server.headers, **sent})
        # An Idempotency-Key sends the create through the API stack and its CORS middleware.
        stack = httpx.post(
            message_url, json=body, headers={**server.headers, **sent, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert [ingest.status_code, fast.status_code, stack.status_code] == [200, 202, 202]
        assert _cors(ingest) == _cors(fast) == _cors(stack) == wanted
