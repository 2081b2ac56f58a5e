"""Fixtures of the relay tests: an in-process node on its own database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.relay.harness import Node, running_node


@pytest.fixture(scope="session")
def relay_database(make_database: Callable[[], str]) -> str:
    # Created outside the event loop: creating a PostgreSQL database runs its own loop.
    return make_database()


@pytest.fixture(scope="session")
async def node(relay_database: str) -> AsyncIterator[Node]:
    async with running_node(relay_database) as running:
        yield running
