"""The consumer portal in a real browser: one application's owner, and nothing beyond it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from svix.api import (
    ApplicationIn,
    ApplicationTokenExpireIn,
    AppPortalAccessIn,
    EndpointHeadersIn,
    EndpointIn,
    MessageIn,
    Svix,
    SvixOptions,
)

from tests.support.server import ServerProcess
from tests.support.waiting import wait_for
from tests.web.conftest import screenshot
from tests.web.receiver import Receiver, receiver


@pytest.fixture
def svix(server: ServerProcess) -> Svix:
    return Svix(server.token, SvixOptions(server_url=server.url))


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as record:
        yield record


def portal_url(svix: Svix, app_id: str, read_only: bool = False) -> str:
    return svix.authentication.app_portal_access(app_id, AppPortalAccessIn(read_only=read_only)).url


def test_portal_manages_its_endpoints_and_resends(page: Page, svix: Svix, hook: Receiver) -> None:
    app = svix.application.create(ApplicationIn(name=f"Portal customer {uuid.uuid4().hex[:6]}"))
    endpoint = svix.endpoint.create(app.id, EndpointIn(url=hook.url, description="their receiver"))
    msg = svix.message.create(app.id, MessageIn(event_type="invoice.paid", payload={"invoice": 42}))
    hook.wait_for(1)

    url = portal_url(svix, app.id)
    assert "/portal#token=" in url
    page.goto(url)
    expect(page.locator("#who")).to_have_text(app.name)
    # The token leaves the address bar (and so the history) as soon as the page has it.
    assert "token=" not in page.url
    expect(page.locator(".endpoint-link")).to_have_text([hook.url])
    screenshot(page, "portal-endpoints")

    # Add an endpoint of their own.
    page.fill("#endpoint-create input[name=url]", f"{hook.url}/second")
    page.fill("#endpoint-create input[name=description]", "added in the portal")
    page.click("#endpoint-create button[type=submit]")
    expect(page.locator(".endpoint-url")).to_contain_text(f"{hook.url}/second")
    added = [ep for ep in svix.endpoint.list(app.id).data if ep.url == f"{hook.url}/second"]
    assert len(added) == 1 and added[0].description == "added in the portal"

    # See its secret, rotate it: the page shows what the API now holds.
    page.click("#reveal-secret")
    expect(page.locator("#endpoint-secret")).to_have_text(svix.endpoint.get_secret(app.id, added[0].id).key)
    before = svix.endpoint.get_secret(app.id, added[0].id).key
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#rotate-secret")
    expect(page.locator("#endpoint-secret")).not_to_have_text(before)
    rotated = svix.endpoint.get_secret(app.id, added[0].id).key
    assert rotated != before
    expect(page.locator("#endpoint-secret")).to_have_text(rotated)

    # Edit it, then disable it.
    page.click("summary:has-text('Edit endpoint')")
    page.fill("#endpoint-edit input[name=description]", "renamed in the portal")
    page.click("#endpoint-edit button[type=submit]")
    expect(page.locator(".props")).to_contain_text("renamed in the portal")
    page.click("#toggle-endpoint")
    expect(page.locator(".endpoint-url .badge")).to_have_text("disabled")
    assert svix.endpoint.get(app.id, added[0].id).disabled is True

    # Messages and attempts; resend the delivered message to the first endpoint.
    page.click("#nav a[data-section=messages]")
    page.click(f"a.message-link:has-text('{msg.id}')")
    expect(page.locator("#message-payload")).to_contain_text('"invoice": 42')
    expect(page.locator(".attempt-row")).to_have_count(1)
    screenshot(page, "portal-message")
    page.click(".resend-endpoint")
    hook.wait_for(2)
    page.click("#refresh-attempts")
    expect(page.locator(".attempt-row")).to_have_count(2)
    attempts = svix.message_attempt.list_by_msg(app.id, msg.id).data
    assert sorted(a.trigger_type for a in attempts) == [0, 1]  # scheduled, then manual
    assert {a.endpoint_id for a in attempts} == {endpoint.id}


def test_portal_cannot_reach_another_application(page: Page, svix: Svix, server: ServerProcess) -> None:
    mine = svix.application.create(ApplicationIn(name="mine"))
    theirs = svix.application.create(ApplicationIn(name="theirs"))
    svix.endpoint.create(theirs.id, EndpointIn(url="https://example.com/secret-hook"))
    url = portal_url(svix, mine.id)

    # A link tampered to name another application: the server refuses, the page says so.
    page.goto(f"{url}&app={theirs.id}")
    expect(page.locator("#portal-problem")).to_contain_text("Access denied")
    expect(page.locator("#portal-problem")).to_contain_text(theirs.id)
    expect(page.locator("body")).not_to_contain_text("secret-hook")
    screenshot(page, "portal-access-denied")

    # The same page's own token, used by hand from the page, gets 403 for the other app.
    statuses = page.evaluate(
        """async (ids) => {
            const token = sessionStorage.getItem("hookhub.portal.token");
            const auth = {headers: {Authorization: `Bearer ${token}`}};
            const get = (path) => fetch(path, auth).then((r) => r.status);
            const apps = await fetch("/api/v1/app", auth).then((r) => r.json());
            return [
                await get(`/api/v1/app/${ids.mine}/endpoint`),
                await get(`/api/v1/app/${ids.theirs}/endpoint`),
                await get(`/api/v1/app/${ids.theirs}`),
                apps.data.map((a) => a.id),
            ];
        }""",
        {"mine": mine.id, "theirs": theirs.id},
    )
    assert statuses[:3] == [200, 403, 403]
    assert statuses[3] == [mine.id]  # listing applications shows only its own

    # Opened properly, it shows its own application only.
    page.goto(url)
    expect(page.locator("#who")).to_have_text("mine")
    expect(page.locator("main")).to_contain_text("No endpoints yet")


def test_portal_without_a_valid_link_explains_itself(page: Page, server: ServerProcess) -> None:
    page.goto(f"{server.url}/portal")
    expect(page.locator("#portal-problem")).to_contain_text("No access link")
    # A link pasted into the same tab takes over (the page reloads itself with the new token).
    page.goto(f"{server.url}/portal#token=sk_not-a-real-token")
    expect(page.locator("#portal-problem")).to_contain_text("not valid")
    # And an org token is not a portal link: the portal needs an application.
    assert httpx.get(f"{server.url}/ui/session", headers=server.headers).json()["scope"] == "org"


def test_revoked_portal_link_ends_the_session(page: Page, svix: Svix, server: ServerProcess) -> None:
    app = svix.application.create(ApplicationIn(name="revoked customer"))
    page.goto(portal_url(svix, app.id))
    expect(page.locator("#who")).to_have_text("revoked customer")
    # The landing section has loaded: no request of it can meet the revocation and end the session
    # before the click below does.
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    svix.authentication.expire_all(app.id, ApplicationTokenExpireIn(expiry=0))
    page.click("#nav a[data-section=messages]")
    expect(page.locator("#portal-problem")).to_contain_text("Session ended")


# Every control of the portal that writes, by the screen it is on.
ENDPOINTS_WRITE_CONTROLS = ["#endpoint-create"]
ENDPOINT_WRITE_CONTROLS = [
    "#endpoint-edit",
    "#toggle-endpoint",
    "button:text-is('Delete')",
    "#rotate-secret",
    "#headers-form",
    "#recover-form",
    ".resend",
]
MESSAGE_WRITE_CONTROLS = [".resend-endpoint", ".resend"]


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "read-write"])
def test_read_only_portal_link_shows_no_write_controls(
    page: Page, svix: Svix, hook: Receiver, read_only: bool
) -> None:
    app = svix.application.create(ApplicationIn(name=f"Portal reader {uuid.uuid4().hex[:6]}"))
    endpoint = svix.endpoint.create(app.id, EndpointIn(url=hook.url, description="their receiver"))
    svix.endpoint.set_headers(app.id, endpoint.id, EndpointHeadersIn(headers={"X-Tenant": "acme"}))
    msg = svix.message.create(app.id, MessageIn(event_type="invoice.paid", payload={"invoice": 7}))
    # The attempt is recorded before the page lists it (it loads attempts once).
    wait_for(lambda: svix.message_attempt.list_by_msg(app.id, msg.id).data, what="the first attempt")
    controls = 0 if read_only else 1

    page.goto(portal_url(svix, app.id, read_only=read_only))
    expect(page.locator("#who")).to_have_text(app.name)
    expect(page.locator(".endpoint-link")).to_have_text([hook.url])
    expect(page.locator("#read-only-notice")).to_have_count(1 if read_only else 0)
    for selector in ENDPOINTS_WRITE_CONTROLS:
        expect(page.locator(selector), selector).to_have_count(controls)
    if read_only:
        expect(page.locator("#read-only-notice")).to_have_text("Read-only access")
        expect(page.locator("#read-only-notice")).to_be_visible()
        expect(page.get_by_text("Add an endpoint")).to_have_count(0)
        screenshot(page, "portal-read-only")

    # The endpoint's details, attempts and headers are all there to read; its secret only with write
    # access (the API refuses it to a read-only link).
    page.click(".endpoint-link")
    expect(page.locator(".endpoint-url")).to_contain_text(hook.url)
    expect(page.locator(".props")).to_contain_text("their receiver")
    expect(page.locator(".attempt-row")).to_have_count(1)
    for selector in ENDPOINT_WRITE_CONTROLS:
        expect(page.locator(selector), selector).to_have_count(controls)
    if read_only:
        expect(page.locator("#endpoint-secret")).to_have_text("Not shown with read-only access.")
        expect(page.locator("#endpoint-headers")).to_contain_text('"X-Tenant": "acme"')
        expect(page.locator("main form")).to_have_count(0)
        expect(page.locator("main button")).to_have_text(["Refresh"])
    else:
        page.click("#reveal-secret")
        expect(page.locator("#endpoint-secret")).to_have_text(
            svix.endpoint.get_secret(app.id, endpoint.id).key
        )

    # Messages and their attempts too.
    page.click("#nav a[data-section=messages]")
    page.click(f"a.message-link:has-text('{msg.id}')")
    expect(page.locator("#message-payload")).to_contain_text('"invoice": 7')
    expect(page.locator(".attempt-row")).to_have_count(1)
    expect(page.get_by_role("link", name=hook.url)).to_have_count(2)  # destinations and attempts
    for selector in MESSAGE_WRITE_CONTROLS:
        expect(page.locator(selector), selector).to_have_count(controls)
    if read_only:
        expect(page.locator("main button")).to_have_text(["Refresh"])
    expect(page.locator("#read-only-notice")).to_have_count(1 if read_only else 0)
    # Nothing was changed along the way.
    assert svix.endpoint.get(app.id, endpoint.id).disabled is False
    assert len(svix.message_attempt.list_by_msg(app.id, msg.id).data) == 1
