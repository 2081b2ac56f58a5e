"""The API stack's outermost layer: an unexpected exception is logged and answered as JSON.

FastAPI answers the exceptions of its routes itself (``api/errors.py``); this catches what the
middleware around it raises (idempotency store, body limit …) and what FastAPI re-raises after
answering, so that no API answer is ever the server's plain-text 500 (the svix SDK cannot read
one) and every failure is logged once, with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from hookhub.errors import InternalError
from hookhub.http.dispatch import ASGIApp, Receive, Scope, Send
from hookhub.http.responses import send_error
from hookhub.logs import redact_target

log = logging.getLogger("hookhub.api")


def log_failure(scope: Scope) -> None:
    """Log the exception being handled, naming the request (its secrets redacted)."""
    log.exception("%s %s failed", scope.get("method", "?"), redact_target(scope.get("path", "")))


class ServerErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            log_failure(scope)
            if not started:
                await send_error(send, InternalError())
            # Otherwise the answer is out (FastAPI's own 500) or cut short: the server closes
            # the connection of an unfinished one.
