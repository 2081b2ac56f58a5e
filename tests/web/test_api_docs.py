"""``/docs`` works offline: Swagger UI comes from the package, never from a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, Route

from tests.support.server import ServerProcess


def test_docs_reference_only_local_assets_and_they_are_served(server: ServerProcess) -> None:
    page = httpx.get(f"{server.url}/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert len(references) >= 4, page.text
    expected_types = {
        ".js": "javascript",
        ".css": "text/css",
        ".svg": "image/svg",
        ".json": "application/json",
    }
    for reference in references:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc and reference.startswith("/"), reference
        asset = httpx.get(f"{server.url}{reference}")
        assert asset.status_code == 200, reference
        kind = next(v for k, v in expected_types.items() if reference.endswith(k))
        assert kind in asset.headers["content-type"], (reference, asset.headers["content-type"])
    bundle = httpx.get(f"{server.url}/ui/static/swagger-ui/swagger-ui-bundle.js")
    assert len(bundle.content) > 500_000 and b"SwaggerUIBundle" in bundle.content
    licence = httpx.get(f"{server.url}/ui/static/swagger-ui/LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text


def test_docs_render_with_no_network_beyond_hookhub(page: Page, server: ServerProcess) -> None:
    """Every request to another host is refused: the page still shows the operations."""
    outside: list[str] = []
    own = urlsplit(server.url).netloc

    def only_hookhub(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_hookhub)
    page.goto(f"{server.url}/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 70
    assert "hookhub" in page.locator(".info .title").inner_text()
    assert outside == []
