"""A WebSocket opened on an ingest URL (XToys): each JSON text message is ingested like a POST.

The connection is also a *producer*: listeners of the source may send messages back to it
(``runtime.relay.add_producer``). Credentials are checked at connect; sources verified by a
provider signature do not accept WebSockets (there is nothing to sign). Errors come back as
``{"type": "error", "code", "detail"}`` frames; accepted messages get no frame.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import orjson

from hookhub.errors import (
    Forbidden,
    HookhubError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.inbound.answer import Answer, error_answer
from hookhub.inbound.compiled import CompiledSource
from hookhub.inbound.verifiers.base import InboundRequest

if TYPE_CHECKING:
    from hookhub.inbound.ingest_app import IngestApp

log = logging.getLogger("hookhub.inbound")


async def serve_producer(app: IngestApp, scope: Scope, receive: Receive, send: Send) -> None:
    from hookhub.inbound.ingest_app import header_dict, split_path

    key, path = split_path(scope["path"])
    connect = await receive()
    if connect["type"] != "websocket.connect":
        return
    try:
        source = await app.pipeline.cache.get(key) if key else None
    except HookhubError as exc:  # the database is down: 503 with Retry-After
        await _refuse(scope, send, exc)
        return
    headers = header_dict(scope["headers"])
    refusal = NotFound("No source at this URL") if source is None else _refusal(source, headers)
    if refusal is not None:
        await _refuse(scope, send, refusal)
        return
    assert source is not None
    await send({"type": "websocket.accept"})
    closed = False

    async def send_text(text: str) -> None:
        if not closed:
            await send({"type": "websocket.send", "text": text})

    unregister = await app.runtime.relay.add_producer(source.id, send_text)
    client_ip = app.pipeline.client_address.of_request(scope, headers)
    query_string = scope["query_string"].decode("latin-1")
    url = app.pipeline.base_url + scope["path"] + ("?" + query_string if query_string else "")
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            if message["type"] != "websocket.receive":
                continue
            current = await app.pipeline.cache.get(key)
            if current is None:
                await send({"type": "websocket.close", "code": 4404})
                break
            data = message.get("text")
            if data is None:
                data = (message.get("bytes") or b"").decode("utf-8", "replace")
            answer = await _ingest(app, current, url, path, query_string, headers, data, client_ip)
            if answer.status >= 400:
                await send({"type": "websocket.send", "text": _error_frame(answer)})
    finally:
        closed = True
        unregister()


def _refusal(source: CompiledSource, headers: dict[str, str]) -> HookhubError | None:
    """Why this WebSocket may not connect to the source, or None."""
    if source.verifier is not None:
        return Forbidden(
            f"a source verified by a provider signature ({source.type}) takes HTTP requests only"
        )
    if "POST" not in source.methods:
        return MethodNotAllowed("this source does not take POST requests, so it takes no WebSocket messages")
    failure = source.auth.failure(headers)
    if failure is not None:
        return Unauthorized(f"auth ({source.auth.kind}): {failure}")
    return None


async def _refuse(scope: Scope, send: Send, error: HookhubError) -> None:
    """Refuse the handshake with an HTTP answer that says why, where the server can send one
    (the ASGI denial-response extension); else close with 1008 (policy violation)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": str(error.detail)[:120]})
        return
    start, body = error_answer(error).messages()
    await send({**start, "type": "websocket.http.response.start"})
    await send({"type": "websocket.http.response.body", "body": body["body"]})


async def _ingest(
    app: IngestApp,
    source: CompiledSource,
    url: str,
    path: str,
    query_string: str,
    headers: dict[str, str],
    data: str,
    client_ip: str | None,
) -> Answer:
    throttled = await app.pipeline.throttle(source)
    if throttled is not None:
        return throttled
    body = data.encode()
    if len(body) > source.max_body_bytes:
        return error_answer(PayloadTooLarge(f"Message is larger than {source.max_body_bytes} bytes."))
    message_headers = {**headers, "content-type": "application/json"}
    request = InboundRequest("POST", url, path, query_string, message_headers, body, time.time())
    return await app.pipeline.accept(source, request, client_ip, verify=False)


def _error_frame(answer: Answer) -> str:
    try:
        error = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        error = {"code": "error", "detail": answer.body.decode("utf-8", "replace")}
    return orjson.dumps({"type": "error", "status": answer.status, **error}).decode()
