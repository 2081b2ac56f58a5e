"""The task runner: leases ``running`` background tasks and works through them page by page.

It runs beside the delivery worker (in ``serve`` and in every ``hookhub worker``). A task is
leased for ``LEASE_SECONDS`` per page; a runner that dies leaves its task to another once the
lease has passed, which goes on from the last committed page. Pages of one task run one after
another; tasks of different kinds or endpoints may run on different processes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from hookhub.store.db import Database
from hookhub.store.outage import log_failure
from hookhub.store.tables import background_task
from hookhub.store.types import utcnow
from hookhub.tasks.operations import QUEUES_DELIVERIES, STEPS

log = logging.getLogger("hookhub.tasks")
LEASE_SECONDS = 30.0
POLL_SECONDS = 1.0


class TaskRunner:
    def __init__(self, db: Database, worker_id: str, on_deliveries: Callable[[], None]) -> None:
        self.db = db
        self.worker_id = worker_id
        self._on_deliveries = on_deliveries
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """A task was started in this process: look at once rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hookhub-task-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_one():
                    pass
            except Exception:
                log_failure(log, "running background tasks failed; trying again shortly")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def run_one(self) -> bool:
        """Lease one task that needs work and run it to its end; False when there was none."""
        task = await self._lease()
        if task is None:
            return False
        step = STEPS.get(task.task)
        cursor, data = task.cursor, dict(task.data or {})
        if step is None:
            await self._settle(task.id, "failed", {**data, "error": f"unknown task {task.task!r}"}, cursor)
            return True
        while True:
            async with self.db.write() as conn:
                done, cursor = await step(conn, dict(task.params), cursor)
                for key, count in done.items():
                    data[key] = data.get(key, 0) + count
                status = "running" if cursor is not None else "finished"
                if not await _save(conn, task.id, self.worker_id, status, data, cursor):
                    raise LostLease(f"background task {task.id} was taken over by another runner")
            if task.task in QUEUES_DELIVERIES and any(done.values()):
                self._on_deliveries()
            if cursor is None:
                log.info("background task %s (%s) finished: %s", task.id, task.task, data)
                return True

    async def _lease(self) -> Any:
        now = utcnow()
        async with self.db.write() as conn:
            picked = (
                sa.select(background_task.c.id)
                .where(
                    background_task.c.status == "running",
                    sa.or_(
                        background_task.c.lease_expires_at.is_(None), background_task.c.lease_expires_at < now
                    ),
                )
                .order_by(background_task.c.id)
                .limit(1)
            )
            if not self.db.is_sqlite:
                picked = picked.with_for_update(skip_locked=True)
            return (
                await conn.execute(
                    background_task.update()
                    .where(background_task.c.id.in_(picked.scalar_subquery()))
                    .values(worker_id=self.worker_id, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
                    .returning(*background_task.c)
                )
            ).first()

    async def _settle(self, task_id: str, status: str, data: dict[str, Any], cursor: str | None) -> None:
        async with self.db.write() as conn:
            await _save(conn, task_id, self.worker_id, status, data, cursor)


class LostLease(Exception):
    """The task's lease ran out and another runner has it: this page is rolled back."""


async def _save(
    conn: Any, task_id: str, worker_id: str, status: str, data: dict[str, Any], cursor: str | None
) -> bool:
    """The task's progress, in the page's own transaction, its lease renewed (or released);
    False when this runner no longer holds the task."""
    now = utcnow()
    running = status == "running"
    result = await conn.execute(
        background_task.update()
        .where(background_task.c.id == task_id, background_task.c.worker_id == worker_id)
        .values(
            status=status,
            data=data,
            cursor=cursor,
            worker_id=worker_id if running else None,
            lease_expires_at=now + timedelta(seconds=LEASE_SECONDS) if running else None,
            updated_at=now,
        )
    )
    return bool(result.rowcount)
