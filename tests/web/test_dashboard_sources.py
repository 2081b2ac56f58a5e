"""The dashboard's sources in a real browser: create, test, watch live, inspect, replay, settings."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.sync_api import Page, expect

from hookhub.inbound.verifiers import REGISTRY
from tests.support.server import ServerProcess
from tests.web.conftest import screenshot, sign_in
from tests.web.receiver import receiver


def test_source_live_tail_inspect_and_replay(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    name = f"Orders {uuid.uuid4().hex[:6]}"
    sign_in(page, server, "/sources")
    page.fill("#source-create input[name=name]", name)
    page.click("#source-create button[type=submit]")
    expect(page.locator("#source-name")).to_have_text(name)
    expect(page.locator("#tail-status")).to_have_text("● live")
    src_id = page.url.rsplit("/", 1)[-1]
    source = api.get(f"/ingest/api/v1/source/{src_id}").json()
    assert source["name"] == name

    # The tester runs the real pipeline; the event shows up in the live tail without a reload.
    page.select_option("#test-request select[name=method]", "POST")
    page.fill("#test-request input[name=path]", "/orders/created?region=eu")
    page.fill(
        "#test-request textarea[name=headers]", "Content-Type: application/json\nX-Order-Source: tester"
    )
    page.fill("#test-request textarea[name=body]", '{"action": "created", "order": {"id": 7}}')
    page.click("#test-request button[type=submit]")
    expect(page.locator("#test-result")).to_contain_text("The caller got 200")
    expect(page.locator("#tail .event-row")).to_have_count(1)
    expect(page.locator("#tail .event-row").first).to_contain_text("/orders/created")

    # A real request from outside arrives live as well.
    response = httpx.put(f"{source['ingestUrl']}/devices?id=42", content=b"plain text body")
    assert response.status_code == 200
    expect(page.locator("#tail .event-row")).to_have_count(2)
    expect(page.locator("#tail .event-row").first).to_contain_text("PUT")
    screenshot(page, "dashboard-source-live-tail")

    # Inspect the tester's event: headers, query and the body pretty-printed.
    page.click("#tail .event-row a.event-link:has-text('/orders/created')")
    expect(page.locator("#event-title")).to_contain_text("POST")
    expect(page.locator("#event-headers")).to_contain_text("x-order-source")
    expect(page.locator("#event-headers")).to_contain_text("tester")
    expect(page.locator("main")).to_contain_text("region")
    body_text = page.locator("#event-body").inner_text()
    assert json.loads(body_text) == {"action": "created", "order": {"id": 7}}
    assert "\n" in body_text  # pretty-printed, not one line
    expect(page.locator("#event-response")).to_contain_text("200")
    screenshot(page, "dashboard-event-inspector")

    # Replay to a destination added afterwards (in the page): it receives the original request.
    event_view = page.url
    with receiver() as hook:
        page.goto(f"{server.url}/ui#/sources/{src_id}/destinations")
        page.fill("#endpoint-create input[name=url]", hook.url)
        page.click("#endpoint-create button[type=submit]")
        expect(page.locator(".endpoint-url")).to_contain_text(hook.url)
        (destination,) = api.get(f"/ingest/api/v1/source/{src_id}/endpoint").json()["data"]
        assert destination["url"] == hook.url
        page.goto(event_view)
        page.click("#replay-event")
        expect(page.locator("#replay-result")).to_have_text("Replayed to 1 destination.")
        (delivered,) = hook.wait_for(1)
        assert json.loads(delivered.body) == {"action": "created", "order": {"id": 7}}


def test_source_settings_and_auth_token_rotation(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    source = api.post("/ingest/api/v1/source", json={"name": "Shared", "type": "generic-webhook"}).json()
    sign_in(page, server, f"/sources/{source['id']}/settings")
    page.select_option("#source-settings select[name=authType]", "bearer")
    page.fill("#source-settings input[name=throttleLimit]", "50")
    page.fill("#source-settings input[name=routeKeyPath]", "query.device")
    page.fill("#source-settings textarea[name=schema]", '{"type": "object", "required": ["action"]}')
    page.check("#source-settings input[name=replyWait]")
    page.fill("#source-settings input[name=replyTimeout]", "5")
    page.fill("#source-settings input[name=listenSecret]", "listen-secret-1")
    screenshot(page, "dashboard-source-settings")
    page.click("#source-settings button[type=submit]")
    expect(page.locator("#source-name")).to_have_text("Shared")

    settings = api.get(f"/ingest/api/v1/source/{source['id']}").json()["settings"]
    assert settings["auth"]["type"] == "bearer"
    assert settings["throttle"]["limit"] == 50
    assert settings["routeKeyPath"] == "query.device"
    assert settings["schema"] == {"type": "object", "required": ["action"]}
    assert settings["reply"] == {"wait": True, "timeoutSeconds": 5}
    assert settings["listenSecret"] == "listen-secret-1"

    # Rotate the auth token in the page; only the token shown there opens the source.
    page.click("#source-settings-link")
    page.click("#rotate-auth-token")
    token = page.locator("#auth-token").inner_text().strip()
    assert token
    settings_off = {**settings, "reply": {"wait": False, "timeoutSeconds": 5}}
    api.put(f"/ingest/api/v1/source/{source['id']}", json={"name": "Shared", "settings": settings_off})
    url = source["ingestUrl"]
    assert httpx.post(url, json={"action": "x"}).status_code == 401
    assert httpx.post(url, json={"action": "x"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    # The live tail connects with the listen secret and shows the authenticated request (a routed
    # source sends listeners only the events of their keys, so the page also polls the event list).
    assert httpx.get(url.replace("/webhook/", "/listen/"), headers={"Accept": "text/event-stream"}).is_error
    page.click("a:has-text('← Shared')")
    expect(page.locator("#tail-status")).to_contain_text("● live")
    accepted = httpx.post(url, json={"action": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200, accepted.text
    expect(page.locator("#tail .event-row")).to_have_count(1)


def test_waiting_event_is_answered_from_the_inspector(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    settings = {"reply": {"wait": True, "timeoutSeconds": 20}}
    source = api.post("/ingest/api/v1/source", json={"name": "Waits", "settings": settings}).json()
    sign_in(page, server, f"/sources/{source['id']}")
    expect(page.locator("#tail-status")).to_have_text("● live")
    with httpx.Client(timeout=30) as caller:
        import threading

        answer: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: answer.setdefault("r", caller.post(source["ingestUrl"], json={"q": "ping"}))
        )
        thread.start()
        page.locator("#tail .event-row a.event-link").click()
        page.fill("#reply-form input[name=status]", "201")
        page.fill("#reply-form textarea[name=body]", "pong")
        page.click("#reply-form button[type=submit]")
        thread.join(30)
    assert answer["r"].status_code == 201
    assert answer["r"].text == "pong"


def test_rotating_the_ingest_url(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    source = api.post("/ingest/api/v1/source", json={"name": "Rotates"}).json()
    old_url = source["ingestUrl"]
    sign_in(page, server, f"/sources/{source['id']}")
    expect(page.locator("#ingest-url")).to_have_text(old_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#rotate-ingest-url")
    expect(page.locator("#ingest-url")).not_to_have_text(old_url)
    new_url = page.locator("#ingest-url").inner_text()
    assert new_url == api.get(f"/ingest/api/v1/source/{source['id']}").json()["ingestUrl"]
    assert httpx.post(old_url, json={}).status_code == 404
    assert httpx.post(new_url, json={"after": "rotation"}).status_code == 200
    # The tail follows the new key: the request shows up live.
    expect(page.locator("#tail-status")).to_have_text("● live")
    expect(page.locator("#tail .event-row")).to_have_count(1)


def test_source_form_offers_every_provider(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    source = api.post("/ingest/api/v1/source", json={"name": "Billing", "type": "generic-webhook"}).json()
    sign_in(page, server, f"/sources/{source['id']}/settings")
    provider = page.locator("#source-settings select[name=type]")
    expect(provider).to_have_value("generic-webhook")
    offered = provider.locator("option").evaluate_all("options => options.map((o) => o.value)")
    assert set(offered) == {*REGISTRY, "generic-webhook"}
    provider.select_option("paddle")
    expect(page.locator("#provider-docs a")).to_have_attribute(
        "href", "https://developer.paddle.com/webhooks/signature-verification"
    )
    page.fill("#source-settings input[name=secret]", "pdl_ntfset_test_secret")
    page.click("#source-settings button[type=submit]")
    expect(page.locator("#source-name")).to_have_text("Billing")
    stored = api.get(f"/ingest/api/v1/source/{source['id']}").json()
    # Outside Svix's list: stored as generic-webhook with config.provider; the secret never shown.
    assert stored["type"] == "generic-webhook" and stored["config"] == {"provider": "paddle"}
    # The form shows the provider again, and the source checks Paddle's signature.
    page.click("#source-settings-link")
    expect(page.locator("#source-settings select[name=type]")).to_have_value("paddle")
    assert httpx.post(source["ingestUrl"], json={"event_type": "x"}).status_code == 401
