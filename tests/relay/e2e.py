"""Helpers for end-to-end relay tests against real ``hookhub serve`` processes."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.server import ServerProcess


def create_source(server: ServerProcess, **fields: Any) -> dict[str, Any]:
    """Create a source through the sources API; adds ``key`` (the ingest key) and ``listenUrl``."""
    with server.client() as client:
        uid = f"relay-{secrets.token_hex(6)}"
        response = client.post("/ingest/api/v1/source/", json={"name": "relay e2e", "uid": uid, **fields})
    assert response.status_code == 201, response.text
    source = response.json()
    source["key"] = urlsplit(source["ingestUrl"]).path.rsplit("/", 1)[-1]
    source["listenWs"] = f"ws://127.0.0.1:{server.port}/listen/{source['key']}"
    source["listenSse"] = f"{server.url}/listen/{source['key']}"
    source["ingestWs"] = f"ws://127.0.0.1:{server.port}/webhook/{source['key']}"
    return source


def ingest_url(server: ServerProcess, source: dict[str, Any]) -> str:
    """The ingest URL on ``server`` (any node of a cluster serves every source)."""
    return f"{server.url}/webhook/{source['key']}"


async def post(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, **kwargs)
