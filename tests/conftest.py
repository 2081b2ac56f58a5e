"""Shared fixtures: real hookhub servers on loopback against the selected database backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import BACKEND, PostgresUnavailable, create_database, drop_database
from tests.support.server import ServerProcess


def pytest_report_header() -> str:
    return f"hookhub database backend: {BACKEND}"


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hookhub")


@pytest.fixture(scope="session")
def make_database(session_dir: Path) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make() -> str:
        try:
            url = create_database(session_dir)
        except PostgresUnavailable as exc:
            pytest.exit(str(exc), returncode=3)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


@pytest.fixture(scope="session")
def server(make_database: Callable[[], str], session_dir: Path) -> Iterator[ServerProcess]:
    """One shared server for tests that only need the API; each test makes its own resources."""
    proc = ServerProcess(make_database(), session_dir).start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(make_database: Callable[[], str], tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A server with its own database and extra environment, stopped after the test."""
    started: list[ServerProcess] = []

    def make(env: dict[str, str] | None = None, *args: str, database_url: str | None = None) -> ServerProcess:
        proc = ServerProcess(database_url or make_database(), tmp_path, env)
        started.append(proc)
        return proc.start(*args)

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
