"""The Runtime: everything one hookhub process holds while it runs.

Built from Settings, started by the ASGI lifespan (or the ``worker`` command), and handed to
the parts that need it. Parts that run in the background register as services.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from hookhub.auth.tokens import TokenVerifier
from hookhub.config import Settings
from hookhub.metrics import Metrics
from hookhub.redis_link import RedisLink
from hookhub.relay.hub import Relay
from hookhub.store import secrets
from hookhub.store.db import Database
from hookhub.store.idempotency import IdempotencyStore
from hookhub.store.reencrypt import check_keys_open_secrets

log = logging.getLogger("hookhub")


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secrets.configure(settings.encryption_key)
        self.db = Database(
            settings.database_url,
            connect_timeout=settings.database_connect_timeout_seconds,
            statement_timeout=settings.database_statement_timeout_seconds,
            durable=settings.sqlite_synchronous == "full",
        )
        # Redis, when configured: one link (timeouts, circuit) for every part that uses it.
        self.redis = RedisLink(settings.redis_url) if settings.redis_url else None
        self.tokens = TokenVerifier(self.db)
        self.idempotency = IdempotencyStore(self.db, settings.idempotency_ttl_seconds)
        self.relay = Relay(self)
        self.metrics = Metrics()
        # Called after a transaction that enqueued deliveries has committed (wakes the workers).
        self._delivery_listeners: list[Callable[[], None]] = []
        self._task_listeners: list[Callable[[], None]] = []
        self.services: list[Service] = []
        # name -> async check returning True when healthy; reported by /api/v1/health.
        self.health_checks: dict[str, Callable[[], Awaitable[bool]]] = {}
        self._started: list[Service] = []

    def on_deliveries_enqueued(self, callback: Callable[[], None]) -> None:
        self._delivery_listeners.append(callback)

    def deliveries_enqueued(self) -> None:
        """Tell the delivery workers new rows are due; call after the commit."""
        for callback in self._delivery_listeners:
            callback()

    def on_tasks_started(self, callback: Callable[[], None]) -> None:
        self._task_listeners.append(callback)

    def tasks_started(self) -> None:
        """Tell this process's task runner a background task was started; call after the commit
        (runners elsewhere find it at their next poll)."""
        for callback in self._task_listeners:
            callback()

    def add_service(self, service: Service) -> None:
        self.services.append(service)

    async def start(self) -> None:
        await self.db.migrate()
        await check_keys_open_secrets(self.db)
        for service in self.services:
            await service.start()
            self._started.append(service)

    async def stop(self) -> None:
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("error while stopping %s", type(service).__name__)
        if self.redis is not None:
            await self.redis.close()
        await self.db.close()
