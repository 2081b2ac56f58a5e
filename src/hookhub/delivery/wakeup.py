"""Waking workers when deliveries are enqueued: in-process at once, across processes by
PostgreSQL LISTEN/NOTIFY. SQLite has no cross-process signal; workers there poll briefly.

The API calls ``Runtime.deliveries_enqueued()`` after its commit. Locally that sets an event the
worker waits on. On PostgreSQL it also sends one NOTIFY per burst (calls made while a NOTIFY
is in flight are coalesced into the next one), so a ``hookhub worker`` elsewhere wakes too.
"""

from __future__ import annotations

import asyncio
import logging
import os

log = logging.getLogger("hookhub.delivery")

CHANNEL = "hookhub_deliveries"


def asyncpg_dsn(database_url: str) -> str:
    scheme, sep, rest = database_url.partition("://")
    return "postgresql://" + rest if sep and scheme.startswith("postgres") else database_url


class Wakeup:
    """One per process. ``event`` is set whenever new deliveries may be due."""

    def __init__(self, database_url: str | None = None) -> None:
        self.event = asyncio.Event()
        self._dsn = asyncpg_dsn(database_url) if database_url else None
        self._node = f"{os.getpid()}-{id(self):x}"
        self._conn = None  # asyncpg.Connection, kept open for LISTEN and NOTIFY
        self._notify_task: asyncio.Task[None] | None = None
        self._notify_again = False

    def enqueued(self) -> None:
        """Runtime callback: wake the local worker and, on PostgreSQL, the others."""
        self.event.set()
        if self._conn is None:
            return
        if self._notify_task is not None and not self._notify_task.done():
            self._notify_again = True
            return
        self._notify_task = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        while True:
            self._notify_again = False
            try:
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, self._node)
            except Exception as exc:  # the poll still finds the rows; say why wake-ups are slow
                log.warning("delivery NOTIFY failed: %s", exc)
                return
            if not self._notify_again:
                return

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload != self._node:
            self.event.set()

    @property
    def cross_process(self) -> bool:
        return self._conn is not None

    async def start(self) -> None:
        if not self._dsn:
            return
        import asyncpg

        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(CHANNEL, self._on_notify)

    async def stop(self) -> None:
        conn, self._conn = self._conn, None
        if self._notify_task is not None:
            await asyncio.gather(self._notify_task, return_exceptions=True)
        if conn is not None:
            await conn.close()
