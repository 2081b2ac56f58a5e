"""Helpers for inbound tests: make a source through the API, read its events back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.inbound.alexa_pki import PKI, certificate_server


class Sources:
    def __init__(self, api: httpx.Client) -> None:
        self.api = api

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", "test source")
        response = self.api.post("/ingest/api/v1/source", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def delete(self, source_id: str) -> None:
        """For tests that make many sources: the session's server lists them 250 at a time."""
        response = self.api.delete(f"/ingest/api/v1/source/{source_id}")
        assert response.status_code == 204, response.text

    def auth_token(self, source_id: str) -> str:
        response = self.api.post(f"/ingest/api/v1/source/{source_id}/auth-token/rotate")
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def events(self, source_id: str, **params: Any) -> list[dict[str, Any]]:
        response = self.api.get(f"/ingest/api/v1/source/{source_id}/event", params={"limit": 250, **params})
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def wait_for_events(self, source_id: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(source_id)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture
def sources(api: httpx.Client) -> Sources:
    return Sources(api)


@pytest.fixture
def hook() -> Callable[..., httpx.Client]:
    """A plain client for ingest URLs (no API token)."""

    def make(**kwargs: Any) -> httpx.Client:
        return httpx.Client(timeout=30, **kwargs)

    return make


@pytest.fixture(scope="session")
def pki() -> PKI:
    return PKI()


@pytest.fixture(scope="session")
def cert_server(pki: PKI) -> Iterator[str]:
    """Serves the test PKI's chains, as Amazon's S3 bucket serves Alexa's."""
    with certificate_server(pki) as url:
        yield url
