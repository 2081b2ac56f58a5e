"""The server starts as a user would and answers the basics: health, auth, errors, CORS, limits."""

from __future__ import annotations

import httpx

from tests.support.server import ServerProcess


def test_health_reports_database(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/api/v1/health/")
    assert response.status_code == 200
    assert response.json()["components"]["database"] == "ok"
    assert "server" not in response.headers  # no software banner
    assert response.headers["date"]  # HTTP requires it of a server with a clock


def test_openapi_document_is_served(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "hookhub"


def test_unknown_path_is_json_404(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Entity not found"}


def test_cors_preflight_allows_any_origin(server: ServerProcess) -> None:
    response = httpx.options(
        f"{server.url}/api/v1/app",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_body_over_limit_is_413(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/app", content=b"x" * (1024 * 1024 + 1), headers=server.headers
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
