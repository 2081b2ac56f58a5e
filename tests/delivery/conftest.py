from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from svix.api import ApplicationIn, EndpointIn, Svix, SvixOptions

from tests.delivery.receiver import Receiver, Reply
from tests.support.server import ServerProcess


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(default: Reply | None = None) -> Receiver:
        receiver = Receiver(default)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def svix_client(server: ServerProcess) -> Svix:
    return Svix(server.token, SvixOptions(server_url=server.url))


def app_with_endpoint(client: Svix, url: str, **endpoint_fields: object) -> tuple[str, str]:
    """A new application with one endpoint at ``url``: (app id, endpoint id)."""
    app = client.application.create(ApplicationIn(name="delivery test"))
    ep = client.endpoint.create(app.id, EndpointIn(url=url, **endpoint_fields))
    return app.id, ep.id


def stored_payload(database_url: str, msg_id: str) -> str:
    """The payload text exactly as the database holds it."""
    import asyncio

    import sqlalchemy as sa

    from hookhub.store.db import Database
    from hookhub.store.tables import message

    async def read() -> str:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return await conn.scalar(sa.select(message.c.payload).where(message.c.id == msg_id))
        finally:
            await db.close()

    return asyncio.run(read())
