"""Group commit: concurrent requests' events are written by one task, many per transaction.

``await writer.write(row)`` returns once the transaction holding the row has committed (the event
and its deliveries are durable). Rows that arrive while a batch commits go into the next one, so
under load one commit serves many requests. A batch that fails is retried row by row, so one bad
row (its source deleted a moment ago) fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from hookhub.inbound.event_batch import write_events
from hookhub.store.db import Database
from hookhub.store.group_commit import gather_while_growing
from hookhub.store.outage import DatabaseUnavailable

log = logging.getLogger("hookhub.inbound")
MAX_BATCH = 512
GATHER_TURNS = 2

_Pending = list[tuple[dict[str, Any], asyncio.Future[None]]]


class EventWriter:
    def __init__(self, db: Database, on_deliveries: Callable[[], None], first_delay: float = 0.0) -> None:
        self._db = db
        self._first_delay = first_delay
        self._on_deliveries = on_deliveries
        self._pending: _Pending = []
        self._wakeup: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def write(self, row: dict[str, Any]) -> asyncio.Future[None]:
        """Queue ``row`` for the next batch; await the future: done once its transaction has
        committed. (A plain function: one coroutine less on every ingest.)"""
        task = self._task
        if task is None or task.done():
            task = self._task = asyncio.get_running_loop().create_task(
                self._run(), name="hookhub-event-writer"
            )
        future: asyncio.Future[None] = task.get_loop().create_future()
        self._pending.append((row, future))
        self._wake()
        return future

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def start(self) -> None:
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup = loop.create_future()
                await self._wakeup
                continue
            await gather_while_growing(lambda: len(self._pending), GATHER_TURNS, MAX_BATCH)
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self._process(batch)
            except BaseException as exc:
                # Never leave a request waiting forever (e.g. on shutdown cancellation).
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError("writer stopped")
                        )
                if not isinstance(exc, Exception):
                    raise

    async def _process(self, batch: _Pending) -> None:
        try:
            queued = await self._commit([row for row, _ in batch])
        except DatabaseUnavailable as exc:  # no row is to blame: all of them fail, at once
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except Exception:
            log.warning("event batch of %d failed; writing one by one", len(batch), exc_info=True)
            queued = await self._commit_singly(batch)
        else:
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        if queued:
            try:
                self._on_deliveries()
            except Exception:
                log.exception("waking the delivery workers failed")

    async def _commit_singly(self, batch: _Pending) -> int:
        queued = 0
        for row, future in batch:
            try:
                queued += await self._commit([row])
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(None)
        return queued

    async def _commit(self, rows: list[dict[str, Any]]) -> int:
        return await self._db.run_write(partial(write_events, rows=rows, first_delay=self._first_delay))
