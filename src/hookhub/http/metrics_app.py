"""``GET /metrics``: the Prometheus text format, for an org API token (``Authorization: Bearer``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookhub.errors import HookhubError, MethodNotAllowed, NotFound
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.http.responses import send_bytes, send_error
from hookhub.metrics import CONTENT_TYPE, read_queue

if TYPE_CHECKING:
    from hookhub.runtime import Runtime

PATH = "/metrics"


class MetricsApp:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            if scope["path"].rstrip("/") != PATH:
                raise NotFound("Not found.")
            if scope["method"] != "GET":
                raise MethodNotAllowed("Scrape /metrics with GET.", headers={"Allow": "GET"})
            authorization = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None
            )
            principal = await self.runtime.tokens.authenticate(authorization)
            principal.require_org()
            queue = await read_queue(self.runtime.db)
        except HookhubError as error:
            await send_error(send, error)
            return
        await send_bytes(send, 200, self.runtime.metrics.render(queue), CONTENT_TYPE.encode())
