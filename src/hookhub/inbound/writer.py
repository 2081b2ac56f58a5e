"""Group commit of inbound events: concurrent requests' events are written many per transaction.

``await writer.write(row)`` returns once the transaction holding the row has committed (the event
and its deliveries are durable). Rows that arrive while batches commit go into the next one, so
under load one commit serves many requests (``store/group_commit.py``). A batch that fails is
retried row by row, so one bad row (its source deleted a moment ago) fails alone; a batch that
fails because the database is unreachable fails whole, at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from hookhub.inbound.event_batch import write_events
from hookhub.store.db import Database
from hookhub.store.group_commit import GroupCommitter
from hookhub.store.outage import DatabaseUnavailable

log = logging.getLogger("hookhub.inbound")
MAX_BATCH = 512
GATHER_TURNS = 2


@dataclass(slots=True)
class _Pending:
    row: dict[str, Any]
    future: asyncio.Future[None]


class EventWriter:
    def __init__(self, db: Database, on_deliveries: Callable[[], None], first_delay: float = 0.0) -> None:
        self._db = db
        self._first_delay = first_delay
        self._on_deliveries = on_deliveries
        self._batches = GroupCommitter(
            self._process,
            max_batch=MAX_BATCH,
            gather_turns=GATHER_TURNS,
            in_flight=db.batches_in_flight,
            name="hookhub-event-writer",
        )

    def write(self, row: dict[str, Any]) -> asyncio.Future[None]:
        """Queue ``row`` for the next batch; await the future: done once its transaction has
        committed. (A plain function: one coroutine less on every ingest.)"""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batches.add(_Pending(row, future))
        return future

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._batches.drain()

    async def _process(self, batch: list[_Pending]) -> None:
        try:
            queued = await self._commit([item.row for item in batch])
        except DatabaseUnavailable as exc:  # no row is to blame: all of them fail, at once
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        except Exception:
            log.warning("event batch of %d failed; writing one by one", len(batch), exc_info=True)
            queued = await self._commit_singly(batch)
        else:
            for item in batch:
                if not item.future.done():
                    item.future.set_result(None)
        if queued:
            try:
                self._on_deliveries()
            except Exception:
                log.exception("waking the delivery workers failed")

    async def _commit_singly(self, batch: list[_Pending]) -> int:
        queued = 0
        for item in batch:
            try:
                queued += await self._commit([item.row])
            except Exception as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
            else:
                if not item.future.done():
                    item.future.set_result(None)
        return queued

    async def _commit(self, rows: list[dict[str, Any]]) -> int:
        return await self._db.run_write(partial(write_events, rows=rows, first_delay=self._first_delay))
