"""The pages as served: headers, static files, the session call, packaging, no third-party requests."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.support.server import ServerProcess
from tests.web.conftest import screenshot, sign_in

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "hookhub" / "web" / "static"


def test_pages_are_served_with_a_strict_policy(server: ServerProcess) -> None:
    for path in ("/ui", "/ui/", "/ui/anything/below", "/portal", "/portal/"):
        response = httpx.get(f"{server.url}{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        # Everything the page loads comes from this server.
        for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
            assert url.startswith(("/", "#")), url
            if url.startswith("/ui/static/"):  # stylesheet, entry module, preloaded modules
                assert httpx.get(f"{server.url}{url}").status_code == 200, url


def test_every_static_file_is_served(server: ServerProcess) -> None:
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert len(files) > 10
    for file in files:
        path = file.relative_to(STATIC).as_posix()
        response = httpx.get(f"{server.url}/ui/static/{path}")
        assert response.status_code == 200, path
        assert response.content == file.read_bytes()
        if path.endswith(".js"):
            assert "javascript" in response.headers["content-type"]
            # Modules import only siblings: no CDN, no bare package names needing a bundler.
            for target in re.findall(r'from "([^"]+)"', response.text):
                assert target.startswith("./") or target.startswith("../"), (path, target)
    assert httpx.get(f"{server.url}/ui/static/nope.js").status_code == 404
    big = httpx.get(f"{server.url}/ui/static/js/outbound/endpoints.js", headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert big.headers["cache-control"] == "no-cache"
    # No way out of the static folder (the server's own source must never be served).
    for escape in ("%2e%2e/app.py", "..%2fapp.py", "%2e%2e%2f%2e%2e/app.py"):
        response = httpx.get(f"{server.url}/ui/static/{escape}")
        assert b"build_web_app" not in response.content, escape


def test_session_tells_what_a_token_reaches(server: ServerProcess, api: httpx.Client) -> None:
    assert api.get("/ui/session").json() == {"scope": "org", "appId": None, "readOnly": False}
    assert httpx.get(f"{server.url}/ui/session").status_code == 401
    bad = httpx.get(f"{server.url}/ui/session", headers={"Authorization": "Bearer sk_nope"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "authentication_failed"
    app = api.post("/api/v1/app", json={"name": "session check"}).json()
    access = api.post(f"/api/v1/auth/app-portal-access/{app['id']}", json={}).json()
    scoped = httpx.get(f"{server.url}/ui/session", headers={"Authorization": f"Bearer {access['token']}"})
    assert scoped.json() == {"scope": "app", "appId": app["id"], "readOnly": False}


def test_pages_work_from_the_built_package(
    make_server: Callable[..., ServerProcess], server: ServerProcess, tmp_path: Path
) -> None:
    """Templates and static files are package data: serve them from a build, not the source tree."""
    build = tmp_path / "build"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            "build_py",
            "--build-lib",
            build,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (build / "hookhub" / "web" / "templates" / "dashboard.html").is_file()
    # The session server's database: creating one needs asyncio.run, which an open browser forbids.
    built = make_server({"PYTHONPATH": str(build)}, database_url=server.database_url)
    page = httpx.get(f"{built.url}/ui")
    assert page.status_code == 200 and "ui/main.js" in page.text
    assert httpx.get(f"{built.url}/ui/static/js/portal/main.js").status_code == 200
    assert httpx.get(f"{built.url}/ui/static/css/hookhub.css").status_code == 200


def test_sign_in_needs_a_valid_org_token(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server.url}/ui")
    screenshot(page, "dashboard-sign-in")
    page.fill("#sign-in input[name=token]", "sk_wrong")
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in .form-error")).to_have_text("That token is not valid.")
    expect(page.locator("#nav")).to_be_hidden()

    app = api.post("/api/v1/app", json={"name": "not for the dashboard"}).json()
    portal_token = api.post(f"/api/v1/auth/app-portal-access/{app['id']}", json={}).json()["token"]
    page.fill("#sign-in input[name=token]", portal_token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in .form-error")).to_contain_text("scoped to one application")

    page.fill("#sign-in input[name=token]", server.token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()
    # The token lives in this tab's sessionStorage only.
    assert page.evaluate("sessionStorage.getItem('hookhub.ui.token')") == server.token
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    # Sign out forgets it.
    page.click("#sign-out")
    expect(page.locator("#sign-in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('hookhub.ui.token')") is None
    assert requested and all(url.startswith(server.url) for url in requested), requested


def test_unknown_view_and_api_errors_show_in_the_page(page: Page, server: ServerProcess) -> None:
    sign_in(page, server, "/no-such-view")
    expect(page.locator(".error-box")).to_contain_text("No such page")
    page.goto(f"{server.url}/ui#/apps/app_doesnotexist")
    expect(page.locator(".error-box")).to_contain_text("not found")


def test_api_data_is_text_never_markup(page: Page, server: ServerProcess, api: httpx.Client) -> None:
    hostile = '<img src=x onerror="window.pwned=1"><b>bold</b>'
    app = api.post("/api/v1/app", json={"name": hostile}).json()
    api.post("/ingest/api/v1/source", json={"name": hostile})
    sign_in(page, server, "/apps")
    expect(page.locator("a.app-link", has_text=hostile).first).to_be_visible()
    screenshot(page, "dashboard-apps")
    page.goto(f"{server.url}/ui#/apps/{app['id']}")
    expect(page.locator("#app-name")).to_have_text(hostile)
    page.goto(f"{server.url}/ui#/sources")
    expect(page.locator("a.source-link", has_text=hostile).first).to_be_visible()
    screenshot(page, "dashboard-sources")
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.pwned") is None


def test_chart_buckets_attempts_over_a_window_ending_now(page: Page, server: ServerProcess) -> None:
    page.goto(f"{server.url}/portal")  # any page of ours, for the module's origin
    slots = page.evaluate(
        """async () => {
            const { bucketAttempts } = await import("/ui/static/js/lib/chart.js");
            const now = Date.parse("2026-01-01T12:00:00Z");
            const at = (minutesAgo, status) =>
                ({ timestamp: new Date(now - minutesAgo * 60000).toISOString(), status });
            // Status 0 success, 2 failed, 1 pending (not counted); all within the last hour → a 1 h window.
            const attempts = [at(58, 2), at(57, 0), at(2, 0), at(1, 0), at(1, 2), at(1, 1)];
            return bucketAttempts(attempts, 12, now).map((s) => [s.success, s.fail, (now - s.from) / 60000]);
        }"""
    )
    assert len(slots) == 12
    assert slots[0] == [1, 1, 60]  # 60..55 minutes ago: a failure at 58, a success at 57
    assert slots[-1] == [2, 1, 5]  # the last five minutes
    assert sum(s[0] for s in slots) == 3 and sum(s[1] for s in slots) == 2
