"""One listener's stream: the events it missed (resume), then live ones, each exactly once.

The listener is registered *before* the stored events are read, so an event is either in the
database when the read runs or published afterwards into the listener's queue (publish follows the
commit). Some may be both: the listener remembers the ids it was given (``Listener.remember``),
and each is sent once, whichever way it came first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from hookhub.relay.listeners import Frame, Listener
from hookhub.relay.replay import missed_frames

if TYPE_CHECKING:
    from hookhub.relay.hub import Relay


async def pump(
    relay: Relay,
    listener: Listener,
    since: str | None,
    send_frame: Callable[[Frame], Awaitable[None]],
    *,
    idle: Callable[[], Awaitable[None]] | None = None,
    idle_seconds: float = 15.0,
) -> None:
    """Send missed then live frames until the listener is closed (overflow or shutdown)."""
    if since is not None:
        async for frame in missed_frames(relay.runtime.db, listener.source_id, since):
            if listener.accepts(frame.route_key) and listener.remember(frame.id):
                await send_frame(frame)
    queue = listener.queue
    while True:
        if idle is not None and queue.empty():
            try:
                async with asyncio.timeout(idle_seconds):
                    frame = await queue.get()
            except TimeoutError:
                await idle()
                continue
        else:
            frame = await queue.get()
        if frame is None:
            return
        await send_frame(frame)
