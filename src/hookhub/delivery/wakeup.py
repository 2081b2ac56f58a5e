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
        self._stopping = False
        self._reconnect_task: asyncio.Task[None] | None = None

    def enqueued(self) -> None:
        """Runtime callback: wake the local worker and, on PostgreSQL, the others."""
        self.event.set()
        if not self.cross_process:
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
        """True while LISTEN works; workers poll more often when it does not."""
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        if self._dsn:
            await self._connect()

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(CHANNEL, self._on_notify)
        conn.add_termination_listener(self._on_lost)
        self._conn = conn

    def _on_lost(self, _conn: object) -> None:
        if self._stopping:
            return
        log.warning("delivery LISTEN connection lost; polling until it is back")
        self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.5
        while not self._stopping:
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except Exception as exc:
                log.warning("delivery LISTEN reconnect failed: %s", exc)
                delay = min(delay * 2, 10.0)
            else:
                self.event.set()  # catch up with anything enqueued meanwhile
                return

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        conn, self._conn = self._conn, None
        if self._notify_task is not None:
            await asyncio.gather(self._notify_task, return_exceptions=True)
        if conn is not None:
            await conn.close()
