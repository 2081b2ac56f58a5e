"""The top-level ASGI app: route by path prefix before any framework routing runs.

The ingest and relay paths are hot; a prefix check sends them straight to their handlers
without walking the API's route table.

The dispatcher, the ingest app and the message fast path are plain callables that hand back
their handler's awaitable, so no request pays for a coroutine per layer. A server that guesses
the ASGI version by inspecting the app must be told it is ASGI 3 (``serve`` tells uvicorn).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PrefixDispatcher:
    def __init__(
        self,
        routes: Sequence[tuple[str, ASGIApp]],
        default: ASGIApp,
        *,
        on_startup: Callable[[], Awaitable[None]],
        on_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        self._routes = tuple(routes)
        self._default = default
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "lifespan":
            return self._lifespan(receive, send)
        path: str = scope["path"]
        for prefix, app in self._routes:
            if path.startswith(prefix):
                return app(scope, receive, send)
        return self._default(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._on_startup()
                except BaseException as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


class StripTrailingSlash:
    """Every API path answers with and without a trailing slash (the SDK sends none)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if len(path) > 1 and path.endswith("/"):
            scope = dict(scope, path=path.rstrip("/") or "/")
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)
