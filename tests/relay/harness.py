"""An in-process hookhub app on a loopback port, for driving the relay through its contract.

Ingest calls ``runtime.relay.publish`` after storing an event; ``Node.ingest`` does exactly that
(stores a row in ``event``, then publishes its listener JSON), so the relay's own tests do not
depend on the ingest app. End-to-end tests in this folder use real ``hookhub serve`` processes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn

from hookhub.app import create_app
from hookhub.config import Settings
from hookhub.http.protocol import HttpProtocol
from hookhub.ids import new_id
from hookhub.relay.events import listener_event_from_row
from hookhub.runtime import Runtime
from hookhub.store import tables
from tests.support.server import free_port


class Node:
    def __init__(self, runtime: Runtime, port: int) -> None:
        self.runtime = runtime
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    async def create_source(self, **settings: Any) -> dict[str, str]:
        now = datetime.now(UTC)
        row = {
            "id": new_id("src"),
            "uid": None,
            "name": "relay test",
            "ingest_key": secrets.token_urlsafe(18),
            "type": "generic-webhook",
            "config": {},
            "settings": settings,
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        }
        async with self.runtime.db.write() as conn:
            await conn.execute(tables.source.insert().values(**row))
        return {"id": row["id"], "key": row["ingest_key"]}

    async def store_event(
        self,
        source_id: str,
        body: bytes = b'{"hello": "world"}',
        *,
        route_key: str | None = None,
        reply_id: str | None = None,
        path: str = "",
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Store an event as ingest does and return its listener JSON (not yet published)."""
        row = {
            "id": new_id("evt"),
            "source_id": source_id,
            "method": "POST",
            "path": path,
            "query": query,
            "headers": headers or {"content-type": "application/json"},
            "body": body,
            "event_type": None,
            "route_key": route_key,
            "source_ip": "127.0.0.1",
            "reply_id": reply_id,
            "response": None,
            "received_at": datetime.now(UTC),
            "expires_at": None,
        }
        async with self.runtime.db.write() as conn:
            await conn.execute(tables.event.insert().values(**row))
        return listener_event_from_row(row)

    async def ingest(
        self, source_id: str, body: bytes = b'{"hello": "world"}', **kwargs: Any
    ) -> dict[str, Any]:
        event = await self.store_event(source_id, body, **kwargs)
        await self.runtime.relay.publish(source_id, kwargs.get("route_key"), event)
        return event


@asynccontextmanager
async def running_node(database_url: str, redis_url: str | None = None) -> AsyncIterator[Node]:
    settings = Settings(database_url=database_url, redis_url=redis_url, run_worker=False)
    runtime = Runtime(settings)
    port = free_port()
    app = create_app(runtime=runtime)  # a plain callable: uvicorn must be told it is ASGI 3
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", interface="asgi3", http=HttpProtocol
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Node(runtime, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def redis_url(db: int) -> str:
    return os.environ.get("HOOKHUB_TEST_REDIS", "redis://127.0.0.1:6379") + f"/{db}"
