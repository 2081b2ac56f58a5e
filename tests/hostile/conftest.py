"""The hostile-input suite's server: one per test module, on a database of its own, so that what
the fuzzers leave behind (odd applications, sources, event types) reaches no other test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def hostile_server(
    make_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A ``hookhub serve`` without the delivery worker: nothing the fuzzers make is sent anywhere."""
    proc = ServerProcess(make_database(), tmp_path_factory.mktemp("hostile")).start("--no-worker")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def admin(hostile_server: ServerProcess) -> Iterator[httpx.Client]:
    """The API with the operator's org token."""
    with hostile_server.client() as client:
        yield client
