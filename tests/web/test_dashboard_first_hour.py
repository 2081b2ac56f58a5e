"""Dashboard details a newcomer trips on: destination attempts, manual replays, the reply form's
headers, unarchiving event types, toasts that stay on their page, source types, phone widths."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.support.server import ServerProcess
from tests.web.conftest import sign_in
from tests.web.receiver import receiver


def wait_for_attempts(api: httpx.Client, path: str, count: int, timeout: float = 20.0) -> list[dict]:
    """The attempts list once the worker has recorded ``count`` of them (it writes after sending)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = api.get(path).json()["data"]
        if len(data) >= count:
            return data
        time.sleep(0.1)
    raise AssertionError(f"expected {count} attempts at {path}")


def test_destination_attempts_are_listed_and_a_replay_is_manual(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    source = api.post("/ingest/api/v1/source", json={"name": f"Shop {uuid.uuid4().hex[:6]}"}).json()
    src = source["id"]
    with receiver() as hook:
        dest = api.post(f"/ingest/api/v1/source/{src}/endpoint", json={"url": hook.url}).json()
        assert httpx.post(source["ingestUrl"], json={"order": 1}).status_code == 200
        hook.wait_for(1)
        (evt,) = api.get(f"/ingest/api/v1/source/{src}/event").json()["data"]
        wait_for_attempts(api, f"/ingest/api/v1/source/{src}/endpoint/{dest['id']}/attempt", 1)

        # Replay from the inspector: the new attempt is a manual one, the first stays scheduled.
        sign_in(page, server, f"/sources/{src}/events/{evt['id']}")
        page.click("#replay-event")
        expect(page.locator("#replay-result")).to_have_text("Replayed to 1 destination.")
        hook.wait_for(2)
        attempts = wait_for_attempts(api, f"/ingest/api/v1/source/{src}/event/{evt['id']}/attempt", 2)
        assert sorted(a["triggerType"] for a in attempts) == [0, 1]
        page.reload()
        rows = page.locator("section:has(h2:text('Delivery attempts')) tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("manual")  # newest first
        expect(rows.nth(1)).to_contain_text("scheduled")

        # The destination's own page lists both attempts, each linking to its event.
        page.goto(f"{server.url}/ui#/sources/{src}/destinations/{dest['id']}")
        expect(page.locator(".attempt-row")).to_have_count(2)
        expect(page.locator("main")).not_to_contain_text("not listed here yet")
        expect(page.locator(".attempt-row").first).to_contain_text("manual")
        expect(page.locator(".attempt-row .resend")).to_have_count(0)  # replays are per event
        page.locator(".attempt-row a.attempt-msg").first.click()
        expect(page.locator("#event-title")).to_contain_text(evt["id"])


def test_reply_form_sets_headers_and_content_type(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    settings = {"reply": {"wait": True, "timeoutSeconds": 20}}
    source = api.post("/ingest/api/v1/source", json={"name": "Answers", "settings": settings}).json()
    sign_in(page, server, f"/sources/{source['id']}")
    expect(page.locator("#tail-status")).to_have_text("● live")
    answer: dict[str, httpx.Response] = {}
    with httpx.Client(timeout=30) as caller:
        thread = threading.Thread(
            target=lambda: answer.setdefault("r", caller.post(source["ingestUrl"], json={"q": "ping"}))
        )
        thread.start()
        page.locator("#tail .event-row a.event-link").click()
        page.fill("#reply-form input[name=status]", "202")
        page.fill("#reply-form input[name=contentType]", "application/json")
        page.fill("#reply-form textarea[name=headers]", "X-Answered-By: dashboard\nCache-Control: no-store")
        page.fill("#reply-form textarea[name=body]", '{"pong": true}')
        page.click("#reply-form button[type=submit]")
        thread.join(30)
    reply = answer["r"]
    assert reply.status_code == 202
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-answered-by"] == "dashboard"
    assert reply.headers["cache-control"] == "no-store"
    assert json.loads(reply.content) == {"pong": True}
    # The inspector shows the answer that went out, headers included.
    expect(page.locator("#event-response")).to_contain_text("x-answered-by", ignore_case=True)


def test_reply_form_reports_a_malformed_header_line(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    settings = {"reply": {"wait": True, "timeoutSeconds": 20}}
    source = api.post("/ingest/api/v1/source", json={"name": "Typo", "settings": settings}).json()
    sign_in(page, server, f"/sources/{source['id']}")
    expect(page.locator("#tail-status")).to_have_text("● live")
    answer: dict[str, httpx.Response] = {}
    with httpx.Client(timeout=30) as caller:
        thread = threading.Thread(
            target=lambda: answer.setdefault("r", caller.post(source["ingestUrl"], json={"q": "ping"}))
        )
        thread.start()
        page.locator("#tail .event-row a.event-link").click()
        page.fill("#reply-form textarea[name=headers]", "no colon here")
        page.click("#reply-form button[type=submit]")
        expect(page.locator("#reply-form .form-error")).to_contain_text('must look like "Name: value"')
        # Nothing was sent: the caller still waits, and a corrected reply reaches it.
        page.fill("#reply-form textarea[name=headers]", "")
        page.fill("#reply-form textarea[name=body]", "fixed")
        page.click("#reply-form button[type=submit]")
        thread.join(30)
    assert answer["r"].status_code == 200
    assert answer["r"].text == "fixed"
    assert answer["r"].headers["content-type"].startswith("text/plain")


def test_an_archived_event_type_can_be_unarchived(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    name = f"parcel.lost{uuid.uuid4().hex[:6]}"
    assert api.post("/api/v1/event-type", json={"name": name, "description": "Lost"}).status_code == 201
    assert api.delete(f"/api/v1/event-type/{name}").status_code == 204
    sign_in(page, server, "/event-types")
    row = page.locator("tr", has=page.locator(".event-type-name", has_text=name))
    expect(row).to_contain_text("archived")
    row.locator("button.unarchive").click()
    expect(row).to_contain_text("active")
    expect(row.locator("button", has_text="Archive")).to_be_visible()
    assert api.get(f"/api/v1/event-type/{name}").json()["archived"] is False


def test_toasts_stay_on_their_page(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    name = f"toast.kept{uuid.uuid4().hex[:6]}"
    api.post("/api/v1/event-type", json={"name": name, "description": "t"})
    sign_in(page, server, "/event-types")
    row = page.locator("tr", has=page.locator(".event-type-name", has_text=name))
    row.locator("button", has_text="Archive").click()
    expect(page.locator(".toast", has_text=f"{name} archived")).to_be_visible()
    # Going elsewhere clears it: checked at once, before its own timer could have removed it.
    page.click("#nav a[data-section=sources]")
    expect(page.locator("#source-create")).to_be_visible()
    assert page.locator(".toast").count() == 0
    # A toast about what an action did follows the page the action opens.
    page.fill("#source-create input[name=name]", "Follows")
    page.click("#source-create button[type=submit]")
    expect(page.locator("#source-name")).to_have_text("Follows")
    expect(page.locator(".toast", has_text="Source Follows created")).to_be_visible()


def test_sources_list_shows_each_type(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    suffix = uuid.uuid4().hex[:6]
    github = api.post(
        "/ingest/api/v1/source",
        json={"name": f"GH {suffix}", "type": "github", "config": {"secret": "s3cret"}},
    )
    assert github.status_code == 201, github.text
    plain = api.post("/ingest/api/v1/source", json={"name": f"Plain {suffix}"}).json()
    sign_in(page, server, "/sources")
    gh_row = page.locator("tr", has=page.locator("a.source-link", has_text=f"GH {suffix}"))
    expect(gh_row.locator(".source-type")).to_have_text("github")
    plain_row = page.locator("tr", has=page.locator("a.source-link", has_text=plain["name"]))
    expect(plain_row.locator(".source-type")).to_have_text("generic-webhook")
    gh_row.locator("a.source-link").click()
    expect(page.locator("#source-type")).to_have_text("github")
