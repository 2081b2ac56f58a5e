"""The dashboard's pages at a phone's width (420 px) and a desktop's (1280 px): nothing overflows the
viewport sideways (wide tables scroll inside their card); screenshots of both for a person to look at."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.server import ServerProcess
from tests.web.conftest import screenshot, sign_in
from tests.web.receiver import Receiver, receiver

PHONE = {"width": 420, "height": 900}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as record:
        yield record


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0 when nothing sticks out)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def wait_for(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_pages_fit_a_phone_and_are_screenshot(
    page: Page, server: ServerProcess, api: httpx.Client, hook: Receiver
) -> None:
    suffix = uuid.uuid4().hex[:6]
    # A source with a long-named destination and a delivered event (long URLs are what overflow).
    source = api.post("/ingest/api/v1/source", json={"name": f"Storefront orders {suffix}"}).json()
    src = source["id"]
    long_url = f"{hook.url}/a-rather-long-path/for-webhooks/that-does-not-wrap?tenant=acme-corporation"
    dest = api.post(f"/ingest/api/v1/source/{src}/endpoint", json={"url": long_url}).json()
    assert httpx.post(f"{source['ingestUrl']}/orders/created", json={"order": {"id": 7}}).status_code == 200
    hook.wait_for(1)
    (evt,) = api.get(f"/ingest/api/v1/source/{src}/event").json()["data"]
    api.post(f"/ingest/api/v1/source/{src}/event/{evt['id']}/replay")
    hook.wait_for(2)
    attempts = f"/ingest/api/v1/source/{src}/endpoint/{dest['id']}/attempt"
    wait_for(lambda: len(api.get(attempts).json()["data"]) >= 2)
    # An application with an endpoint and a delivered message.
    app = api.post("/api/v1/app", json={"name": f"Billing {suffix}"}).json()
    ep = api.post(f"/api/v1/app/{app['id']}/endpoint", json={"url": long_url}).json()
    message = {"eventType": "invoice.paid", "payload": {"n": 1}}
    msg = api.post(f"/api/v1/app/{app['id']}/msg", json=message).json()
    wait_for(lambda: len(api.get(f"/api/v1/app/{app['id']}/attempt/endpoint/{ep['id']}").json()["data"]) >= 1)
    api.post("/api/v1/event-type", json={"name": f"invoice.paid.{suffix}", "description": "Paid"})

    pages = [
        ("sources", "/sources", "a.source-link"),
        ("source", f"/sources/{src}", "#tail .event-row"),
        ("event", f"/sources/{src}/events/{evt['id']}", "#event-title"),
        ("destination", f"/sources/{src}/destinations/{dest['id']}", ".attempt-row"),
        ("endpoint", f"/apps/{app['id']}/endpoints/{ep['id']}", ".attempt-row"),
        ("message", f"/apps/{app['id']}/messages/{msg['id']}", ".attempt-row"),
        ("event-types", "/event-types", ".event-type-name"),
    ]
    sign_in(page, server, "/sources")
    wide: dict[str, int] = {}
    for name, view, ready in pages:
        for width, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.goto(f"{server.url}/ui#{view}")
            expect(page.locator(ready).first).to_be_visible()
            screenshot(page, f"width-{name}-{width}")
            if overflow(page) > 0:
                wide[f"{name} ({width})"] = overflow(page)
    assert not wide, f"pages wider than the viewport (px): {wide}"


def test_reply_form_fits_a_phone(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    settings = {"reply": {"wait": True, "timeoutSeconds": 30}}
    source = api.post("/ingest/api/v1/source", json={"name": "Waiting", "settings": settings}).json()
    with httpx.Client(timeout=40) as caller:
        thread = threading.Thread(target=lambda: caller.post(source["ingestUrl"], json={"q": "ping"}))
        thread.start()
        events = f"/ingest/api/v1/source/{source['id']}/event"
        wait_for(lambda: len(api.get(events).json()["data"]) == 1)
        (evt,) = api.get(events).json()["data"]
        sign_in(page, server, f"/sources/{source['id']}/events/{evt['id']}")
        for width, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            expect(page.locator("#reply-form")).to_be_visible()
            screenshot(page, f"width-reply-form-{width}")
            assert overflow(page) == 0, width
        api.post(f"/ingest/api/v1/reply/{evt['replyId']}", json={"status": 200, "body": "done"})
        thread.join(40)
