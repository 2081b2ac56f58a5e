"""What the group-commit writers (inbound events, outbound messages) share: gathering a batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


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
