"""Group commit: what many concurrent requests want stored, written by a few transactions.

Inbound events and outbound messages are queued by their requests and written in batches, each
batch in one transaction (``Database.run_write``), each request answered once its batch has
committed. Several batches may be in flight at once: on PostgreSQL each waits for its own round
trips on its own connection, and on SQLite the next batch commits while the previous one waits
for its fsync, so the writer is not idle while the database works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar


class HasFuture(Protocol):
    future: asyncio.Future[Any] | None


T = TypeVar("T", bound=HasFuture)


async def gather_while_growing(queued: Callable[[], int], turns: int, limit: int) -> None:
    """Let requests already on their way join the batch: yield up to ``turns`` loop turns while
    the queue keeps growing and is below ``limit``.

    Each batch pays a fixed cost (begin, its lookup query, commit), so under load fewer, larger
    batches serve more requests per second; when idle this costs one loop turn.
    """
    size = -1
    for _ in range(turns):
        count = queued()
        if count == size or count >= limit:
            return
        size = count
        await asyncio.sleep(0)


class GroupCommitter(Generic[T]):
    """Queued items, written by ``write_batch(items)`` up to ``max_batch`` at a time with up to
    ``in_flight`` batches at once. ``write_batch`` settles each item's future; if it raises, the
    items it left unsettled fail with its exception (nobody waits forever)."""

    def __init__(
        self,
        write_batch: Callable[[list[T]], Awaitable[None]],
        *,
        max_batch: int,
        gather_turns: int,
        in_flight: int,
        name: str,
    ) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._gather_turns = gather_turns
        self._in_flight = in_flight
        self._name = name
        self._queue: list[T] = []
        self._runner: asyncio.Task[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()

    def add(self, item: T) -> None:
        """Queue ``item`` for the next batch (a plain function: it runs on every request)."""
        self._queue.append(item)
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def drain(self) -> None:
        """Return once everything queued so far is written (or failed)."""
        while self._runner is not None or self._writing:
            await asyncio.gather(*filter(None, (self._runner, *self._writing)), return_exceptions=True)

    async def _run(self) -> None:
        try:
            while self._queue:
                if len(self._writing) >= self._in_flight:
                    await asyncio.wait(self._writing, return_when=asyncio.FIRST_COMPLETED)
                    continue
                await gather_while_growing(lambda: len(self._queue), self._gather_turns, self._max_batch)
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                task = asyncio.get_running_loop().create_task(self._write(batch))
                self._writing.add(task)
                task.add_done_callback(self._writing.discard)
        except BaseException as exc:  # cancelled (shutdown): nobody may wait forever
            _fail(self._queue, exc)
            self._queue = []
            raise
        finally:
            self._runner = None

    async def _write(self, batch: list[T]) -> None:
        try:
            await self._write_batch(batch)
        except BaseException as exc:
            _fail(batch, exc)
            if not isinstance(exc, Exception):
                raise


def _fail(items: list[T], exc: BaseException) -> None:
    failure = exc if isinstance(exc, Exception) else RuntimeError("the writer stopped")
    for item in items:
        if item.future is not None and not item.future.done():
            item.future.set_exception(failure)
