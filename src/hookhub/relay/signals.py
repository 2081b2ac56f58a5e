"""End long-lived listener streams as soon as the process is asked to stop.

uvicorn's graceful shutdown waits for open HTTP responses to finish before it runs the lifespan
shutdown; an SSE stream never finishes by itself, so without this a SIGTERM would wait the whole
graceful timeout. We chain onto the current SIGTERM/SIGINT handlers (uvicorn's) and, before
they run, ask every listener to close; clients reconnect elsewhere and resume from Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_exit_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` on the event loop at SIGTERM/SIGINT; returns a function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(callback)
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)
        elif chained == signal.SIG_DFL:
            restore()
            signal.raise_signal(signum)

    for signum in _SIGNALS:
        current = signal.getsignal(signum)
        if current is None:  # installed from outside Python: leave it alone
            continue
        previous[signum] = current
        signal.signal(signum, handler)

    def restore() -> None:
        for signum, chained in previous.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, chained)

    return restore
