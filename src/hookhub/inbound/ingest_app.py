"""``/webhook/{key}[/{sub-path}]``: the hot path, pure ASGI.

HTTP requests go through the pipeline; a WebSocket on the same URL sends JSON text messages that
are ingested like POSTs (XToys) and receives what listeners send back; ``GET /webhook/{key}`` with
``Accept: text/event-stream`` is a smee.io channel served by the relay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from hookhub.errors import HookhubError, InternalError, NotFound, PayloadTooLarge, ServiceUnavailable
from hookhub.http.body_limit import ClientDisconnected, read_body
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.http.responses import CORS_SIMPLE
from hookhub.inbound.answer import Answer, error_answer
from hookhub.inbound.cache import NOT_CACHED
from hookhub.inbound.compiled import CompiledSource
from hookhub.inbound.pipeline import Pipeline
from hookhub.inbound.verifiers.base import InboundRequest

if TYPE_CHECKING:
    from hookhub.runtime import Runtime

log = logging.getLogger("hookhub.inbound")
PREFIX = "/webhook/"
_UNKNOWN = error_answer(NotFound("No source at this URL"))
_BROKEN = error_answer(InternalError())
UNKNOWN_SOURCE = "unknown"  # the metrics label of requests to keys that open no source
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    (b"access-control-allow-headers", b"*"),
    (b"access-control-max-age", b"600"),
]


def split_path(path: str) -> tuple[str, str]:
    """``/webhook/KEY/a/b`` → (``KEY``, ``/a/b``); no sub-path → ``""``."""
    key, _, sub = path[len(PREFIX) :].partition("/")
    return key, ("/" + sub if sub else "")


def header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
    if len(headers) == len(raw):
        return headers
    headers = {}  # a repeated header: its values joined, in order
    for name, value in raw:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class IngestApp:
    def __init__(self, runtime: Runtime, pipeline: Pipeline) -> None:
        self.runtime = runtime
        self.pipeline = pipeline

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            from hookhub.inbound.websocket import serve_producer

            return serve_producer(self, scope, receive, send)
        return self._http(scope, receive, send)  # a plain function: one coroutine less per request

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        key, path = split_path(scope["path"])
        source = self.pipeline.cache.fresh(key) if key else None
        if source is NOT_CACHED:
            try:
                source = await self.pipeline.cache.get(key)
            except HookhubError as exc:  # the database is down: 503 with Retry-After
                await error_answer(exc).send(send)
                self.runtime.metrics.ingest_answered(UNKNOWN_SOURCE, exc.status)
                return
            except Exception:
                log.exception("ingest could not look its source up")
                await _BROKEN.send(send)
                return
        if source is None:
            await _UNKNOWN.send(send)
            self.runtime.metrics.ingest_answered(UNKNOWN_SOURCE, _UNKNOWN.status)
            return
        method: str = scope["method"]
        headers = header_dict(scope["headers"])
        if method == "OPTIONS":
            await Answer(204, b"", headers=_CORS).send(send)
            return
        if method == "GET" and not path and "text/event-stream" in headers.get("accept", ""):
            await self.runtime.relay.serve_smee(key, scope, receive, send)
            return
        query_string = scope["query_string"].decode("latin-1")
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        url = self.pipeline.base_url + raw_path + ("?" + query_string if query_string else "")
        request = InboundRequest(method, url, path, query_string, headers, b"", time.time())
        try:
            answer = self.pipeline.precheck(source, request)
            if answer is None and self.pipeline.throttles_remotely:
                answer = await self.pipeline.throttle(source)
            if answer is None:
                answer = await self._with_body(source, request, scope, receive)
        except HookhubError as exc:
            answer = error_answer(exc)
        except ClientDisconnected:
            return  # nothing stored, nobody to answer
        except Exception:
            log.exception("ingest failed for source %s", source.id)
            answer = error_answer(ServiceUnavailable("The event could not be stored; retry later."))
        # Both messages sent from here, without Answer.send's coroutine: this runs on every request.
        start, body = answer.messages(CORS_SIMPLE if "origin" in headers else ())
        await send(start)
        await send(body)
        self.runtime.metrics.ingest_answered(source.id, answer.status)

    async def _with_body(
        self, source: CompiledSource, request: InboundRequest, scope: Scope, receive: Receive
    ) -> Answer:
        limit = source.max_body_bytes
        length = _declared_length(request.headers.get("content-length"))
        if length is not None and length > limit:
            return _too_large(limit)
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnected
        body = message.get("body", b"")
        if len(body) > limit:
            return _too_large(limit)
        if message.get("more_body", False):  # the usual case is the whole body in one message
            rest = await read_body(receive, limit - len(body))
            if rest is None:
                return _too_large(limit)
            body += rest
        request.body = body
        client_ip = self.pipeline.client_address.of_request(scope, request.headers)
        return await self.pipeline.accept(source, request, client_ip)


def _declared_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _too_large(limit: int) -> Answer:
    return error_answer(PayloadTooLarge(f"Request body is larger than {limit} bytes."))
