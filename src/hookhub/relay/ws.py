"""WebSocket listeners on ``/listen/{key}``.

Server → listener: ``{"type": "ready", …}`` once registered, then each event as its listener JSON
(no ``type`` key), and answers to the listener's frames (``subscribed``, ``replied``, ``published``,
``pong``, ``error``). Listener → server frames:

    {"type": "subscribe", "data": {"$keys": ["aaa", "bbb"]}}    (or {"$key": "aaa"}) routing keys
    {"type": "reply", "replyId": "…", "status": 201, "headers": {…}, "body": …}
    {"type": "publish", "data": …}      to the source's WebSocket producers (listenersMayPublish)
    {"type": "ping"}
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from hookhub.errors import BadRequest, Forbidden, HookhubError
from hookhub.http.dispatch import Receive, Scope, Send
from hookhub.relay.connect import accept_listener
from hookhub.relay.listeners import Frame, Listener, route_key_text
from hookhub.relay.replies import parse_reply
from hookhub.relay.session import pump
from hookhub.relay.sources import SourceInfo

if TYPE_CHECKING:
    from hookhub.relay.hub import Relay

CLOSE_TOO_SLOW = 1013  # "try again later": the listener fell behind; reconnect with ?since=
CLOSE_REVOKED = 1008  # "policy violation": its key or listen secret no longer holds; do not retry


async def serve_ws(
    relay: Relay, source: SourceInfo | None, scope: Scope, receive: Receive, send: Send
) -> None:
    websocket = WebSocket(scope, receive, send)
    try:
        request = accept_listener(source, scope)
    except HookhubError as error:
        await _deny(websocket, error)
        return
    assert source is not None
    await websocket.accept()
    listener = Listener.admitted_to(source, request.keys)
    await relay.add_listener(listener)
    lock = asyncio.Lock()

    async def send_text(text: str) -> None:
        async with lock:
            await websocket.send_text(text)

    try:
        ready = {"type": "ready", "sourceId": source.id, "keys": _keys(listener), "since": request.since}
        await send_text(orjson.dumps(ready).decode())

        async def send_frame(frame: Frame) -> None:
            await send_text(frame.json)

        # On a routed source a listener may give its keys in a first subscribe frame; the missed
        # events it resumes with are chosen by those keys, so the stream waits for them.
        subscribed = asyncio.Event()
        if listener.keys is not None or not source.routed:
            subscribed.set()

        async def stream_events() -> None:
            await subscribed.wait()
            await pump(relay, listener, request.since, send_frame)

        stream = asyncio.ensure_future(stream_events())
        reader = asyncio.ensure_future(
            _read_frames(relay, source, listener, websocket, send_text, subscribed)
        )
        try:
            await asyncio.wait({stream, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stream, reader):
                task.cancel()
            for task in (stream, reader):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError, RuntimeError):
                    await task
        if stream.done() and not stream.cancelled():
            # Too slow, server stopping, or a pub/sub gap: the client resumes with ?since=.
            code, reason = CLOSE_TOO_SLOW, "listener too slow; resume with ?since="
            if listener.revoked:
                code, reason = CLOSE_REVOKED, "the source's key or listen secret changed"
            elif not listener.overflowed:
                code, reason = 1012, "resume with ?since="
            with contextlib.suppress(Exception):
                await websocket.close(code, reason)
    finally:
        relay.remove_listener(listener)


async def _deny(websocket: WebSocket, error: HookhubError) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = Response(error.body(), status_code=error.status, media_type="application/json")
        await websocket.send_denial_response(response)
    else:
        await websocket.close(4000 + error.status, str(error.detail)[:120])


async def _read_frames(
    relay: Relay,
    source: SourceInfo,
    listener: Listener,
    websocket: WebSocket,
    send_text: Any,
    subscribed: asyncio.Event,
) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text") if message.get("text") is not None else message.get("bytes")
        answer = await _handle(relay, source, listener, raw)
        if answer is not None and answer["type"] == "subscribed":
            subscribed.set()
        if answer is not None:
            await send_text(orjson.dumps(answer).decode())


async def _handle(relay: Relay, source: SourceInfo, listener: Listener, raw: Any) -> dict[str, Any] | None:
    try:
        frame = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return _error(BadRequest("Frames must be JSON objects."))
    if not isinstance(frame, dict):
        return _error(BadRequest("Frames must be JSON objects."))
    kind = frame.get("type")
    try:
        if kind == "subscribe":
            listener.set_keys(_subscription(frame.get("data", frame)))
            return {"type": "subscribed", "keys": _keys(listener)}
        if kind == "reply":
            reply_id = frame.get("replyId")
            if not isinstance(reply_id, str) or not reply_id:
                raise BadRequest("A reply frame needs its replyId.")
            await relay.post_reply(reply_id, parse_reply(frame))
            return {"type": "replied", "replyId": reply_id}
        if kind == "publish":
            current = await relay.sources.by_id(source.id)
            if current is None or not current.listeners_may_publish:
                raise Forbidden("Listeners may not publish on this source (settings.listenersMayPublish).")
            data = frame.get("data")
            text = data if isinstance(data, str) else orjson.dumps(data).decode()
            await relay.publish_to_producers(source.id, text)
            return {"type": "published"}
        if kind == "ping":
            return {"type": "pong"}
        raise BadRequest("Unknown frame type; expected subscribe, reply, publish or ping.")
    except HookhubError as error:
        answer = _error(error)
        if kind == "reply":
            answer["replyId"] = frame.get("replyId")
        return answer


def _subscription(data: Any) -> list[str]:
    if not isinstance(data, dict):
        raise BadRequest('subscribe data must be {"$keys": […]} or {"$key": …}.')
    keys = data.get("$keys")
    if keys is None and "$key" in data:
        keys = [data["$key"]]
    if not isinstance(keys, list) or any(key is None for key in keys):
        raise BadRequest('subscribe data must be {"$keys": […]} or {"$key": …}.')
    return [text for key in keys if (text := route_key_text(key)) is not None]


def _keys(listener: Listener) -> list[str] | None:
    return sorted(listener.keys) if listener.keys is not None else None


def _error(error: HookhubError) -> dict[str, Any]:
    return {"type": "error", "code": error.code, "detail": error.detail}
