"""The dashboard's sending side in a real browser: apps, endpoints, messages, attempts, event types."""

from __future__ import annotations

import json
import time
import uuid

from playwright.sync_api import Page, expect
from standardwebhooks import Webhook
from svix.api import ApplicationIn, EndpointIn, EventTypeIn, MessageIn, Svix, SvixOptions

from tests.support.server import ServerProcess
from tests.web.conftest import screenshot, sign_in
from tests.web.receiver import receiver


def refresh_until(page: Page, selector: str, count: int, timeout: float = 20.0) -> None:
    """Click the page's Refresh button until ``selector`` matches ``count`` rows."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() < count:
        assert time.monotonic() < deadline, f"{selector}: fewer than {count} after {timeout}s"
        page.click("#refresh-attempts")
        page.wait_for_timeout(200)


def test_app_endpoint_message_attempt_resend(page: Page, server: ServerProcess) -> None:
    svix = Svix(server.token, SvixOptions(server_url=server.url))
    name = f"Acme {uuid.uuid4().hex[:6]}"
    sign_in(page, server, "/apps")
    page.fill("#app-create input[name=name]", name)
    page.click("#app-create button[type=submit]")
    expect(page.locator("#app-name")).to_have_text(name)
    app_id = page.url.rsplit("/", 1)[-1]
    assert svix.application.get(app_id).name == name

    paid = f"invoice.paid.{uuid.uuid4().hex[:6]}"
    svix.event_type.create(EventTypeIn(name=paid, description="An invoice was paid"))
    with receiver() as hook:
        page.click("#app-endpoints")
        page.fill("#endpoint-create input[name=url]", hook.url)
        page.fill("#endpoint-create input[name=description]", "billing receiver")
        page.fill("#endpoint-create input[name=filterTypes]", "invoice.voided")
        page.click(f"#endpoint-create .chip:text-is('{paid}')")  # a known event type, offered
        page.click("#endpoint-create button[type=submit]")
        expect(page.locator(".endpoint-url")).to_contain_text(hook.url)
        (endpoint,) = svix.endpoint.list(app_id).data
        assert sorted(endpoint.event_types or []) == sorted([paid, "invoice.voided"])
        page.click("#reveal-secret")
        expect(page.locator("#endpoint-secret")).to_contain_text("whsec_")
        secret = page.locator("#endpoint-secret").inner_text()

        # Send a message from the page; the receiver gets it signed with the secret shown above.
        page.goto(f"{server.url}/ui#/apps/{app_id}/messages")
        page.fill("#message-create input[name=eventType]", paid)
        page.fill("#message-create textarea[name=payload]", '{"invoice": "in_1", "amount": 990}')
        page.click("#message-create button[type=submit]")
        expect(page.locator("#message-payload")).to_contain_text('"amount": 990')
        msg_id = page.url.rsplit("/", 1)[-1]
        (first,) = hook.wait_for(1)
        verified = Webhook(secret).verify(first.body, first.headers)
        assert verified == {"invoice": "in_1", "amount": 990}
        assert first.headers["webhook-id"] == msg_id

        refresh_until(page, ".attempt-row", 1)
        expect(page.locator(".attempt-row").first).to_contain_text("success")
        screenshot(page, "dashboard-message")

        # Resend from the attempt row: a second, manual delivery of the same message.
        page.click(".attempt-row .resend")
        second = hook.wait_for(2)[1]
        assert json.loads(second.body) == {"invoice": "in_1", "amount": 990}
        refresh_until(page, ".attempt-row", 2)
        expect(page.locator(".attempt-row").first).to_contain_text("manual")

        # The endpoint page charts both successful attempts and can start a recovery.
        page.goto(f"{server.url}/ui#/apps/{app_id}/endpoints/{endpoint.id}")
        chart = page.locator(".chart-wide svg.chart")
        expect(chart).to_have_attribute("data-success", "2")
        expect(chart).to_have_attribute("data-fail", "0")
        page.click("#recover-form button[type=submit]")
        expect(page.locator(".toast", has_text="Recovery started")).to_be_visible()
        # Nothing had failed: the task says so rather than claiming messages are on their way.
        expect(page.locator(".toast", has_text="Nothing to recover")).to_be_visible()
        screenshot(page, "dashboard-endpoint")

    # The application page offers a consumer-portal link.
    page.goto(f"{server.url}/ui#/apps/{app_id}")
    page.click("#create-portal-link")
    expect(page.locator("#portal-link")).to_contain_text("/portal#token=")
    screenshot(page, "dashboard-app")


def test_event_types_with_schema(page: Page, server: ServerProcess) -> None:
    svix = Svix(server.token, SvixOptions(server_url=server.url))
    name = f"order.shipped{uuid.uuid4().hex[:6]}"
    schema = {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]}
    sign_in(page, server, "/event-types")
    page.fill("#event-type-create input[name=name]", name)
    page.fill("#event-type-create input[name=description]", "An order left the warehouse")
    page.fill("#event-type-create textarea[name=schema]", json.dumps(schema))
    page.click("#event-type-create button[type=submit]")
    expect(page.locator(".event-type-name", has_text=name)).to_be_visible()
    stored = svix.event_type.get(name)
    assert stored.description == "An order left the warehouse"
    assert stored.schemas == {"1": schema}

    # Invalid JSON is refused in the page, and nothing is created.
    page.fill("#event-type-create input[name=name]", f"{name}.bad")
    page.fill("#event-type-create input[name=description]", "broken")
    page.fill("#event-type-create textarea[name=schema]", "{not json")
    page.click("#event-type-create button[type=submit]")
    expect(page.locator("#event-type-create .form-error")).to_contain_text("not valid JSON")
    assert f"{name}.bad" not in [et.name for et in svix.event_type.list().data]
    screenshot(page, "dashboard-event-types")


def test_failed_delivery_is_charted_and_recovered(page: Page, one_try_server: ServerProcess) -> None:
    server = one_try_server
    svix = Svix(server.token, SvixOptions(server_url=server.url))
    app = svix.application.create(ApplicationIn(name="Flaky customer"))
    with receiver(status=500) as hook:
        endpoint = svix.endpoint.create(app.id, EndpointIn(url=hook.url))
        msg = svix.message.create(app.id, MessageIn(event_type="order.created", payload={"order": 1}))
        hook.wait_for(1)
        sign_in(page, server, f"/apps/{app.id}/endpoints/{endpoint.id}")
        refresh_until(page, ".attempt-row", 1)
        expect(page.locator(".attempt-row").first).to_contain_text("failed")
        expect(page.locator(".attempt-row").first).to_contain_text("500")
        expect(page.locator(".chart-wide svg.chart")).to_have_attribute("data-fail", "1")

        # The receiver is fixed; "Recover" re-sends what failed since the chosen time.
        hook.status = 200
        page.click("#recover-form button[type=submit]")
        expect(
            page.locator(".toast", has_text="Recovery finished: 1 failed message sent again")
        ).to_be_visible()
        (_, recovered) = hook.wait_for(2)
        assert json.loads(recovered.body) == {"order": 1}
        assert recovered.headers["webhook-id"] == msg.id
        refresh_until(page, ".attempt-row", 2)
        expect(page.locator(".attempt-row").first).to_contain_text("success")
        expect(page.locator(".chart-wide svg.chart")).to_have_attribute("data-success", "1")
        expect(page.locator(".chart-wide svg.chart")).to_have_attribute("data-fail", "1")
        screenshot(page, "dashboard-endpoint-recovered")
