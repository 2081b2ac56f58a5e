"""Fixtures for the outbound API tests: the official svix SDK pointed at a real hookhub."""

from __future__ import annotations

import uuid

import pytest
from svix.api import ApplicationIn, ApplicationOut, Svix, SvixOptions

from tests.support.server import ServerProcess


@pytest.fixture
def svix(server: ServerProcess) -> Svix:
    return Svix(server.token, SvixOptions(server_url=server.url))


@pytest.fixture
def app(svix: Svix) -> ApplicationOut:
    """A fresh application per test (the server is shared)."""
    return svix.application.create(ApplicationIn(name="Test app", uid=f"test-{uuid.uuid4().hex[:12]}"))
