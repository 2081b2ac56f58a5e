"""``POST /api/v1/app/{app}/msg`` served as plain ASGI, ahead of the FastAPI stack.

Message create is the busiest API call; FastAPI's routing and dependency machinery would cost
more than the work itself. This handler does what the stack would do for it — bearer auth, body
limit, JSON parsing and validation (same 400/401/413/422 bodies), wildcard CORS — and hands
everything else, including any request with an ``Idempotency-Key``, to the normal stack.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from urllib.parse import parse_qsl

from hookhub.api.content_type import refuse_non_json
from hookhub.errors import HookhubError, InternalError, PayloadTooLarge
from hookhub.http.body_limit import ClientDisconnected, read_body
from hookhub.http.dispatch import ASGIApp, Receive, Scope, Send
from hookhub.http.responses import CORS_SIMPLE, error_headers, response_messages
from hookhub.http.server_errors import log_failure
from hookhub.outbound.message_models import MessageIn
from hookhub.outbound.message_writer import message_out, queue_message, writer_for
from hookhub.outbound.wire import parse_json
from hookhub.runtime import Runtime

PREFIX = "/api/v1/app/"
_PATH = re.compile(r"^/api/v1/app/([^/]+)/msg/?$")
_FALSE = {"false", "0", "no", "off"}


class MessageFastPath:
    def __init__(self, runtime: Runtime, stack: ASGIApp) -> None:
        self.runtime = runtime
        self.stack = stack
        self.max_body = runtime.settings.max_body_bytes
        self.writer = writer_for(runtime)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function handing back an awaitable: no coroutine of its own per request.
        match = _PATH.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if match is None:
            return self.stack(scope, receive, send)
        authorization = None
        length = None
        content_type = None
        cors: tuple[tuple[bytes, bytes], ...] = ()
        for name, value in scope["headers"]:
            if name == b"idempotency-key":
                return self.stack(scope, receive, send)  # stored and replayed by the middleware
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"origin":
                cors = CORS_SIMPLE
        return self._create(scope, receive, send, match.group(1), authorization, length, content_type, cors)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body is larger than {self.max_body} bytes.")

    async def _create(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        app_ref: str,
        authorization: str | None,
        length: bytes | None,
        content_type: bytes | None,
        cors: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        try:
            if length is not None and length.isdigit() and int(length) > self.max_body:
                raise self._too_large()
            raw = await read_body(receive, self.max_body)
            if raw is None:
                raise self._too_large()
            tokens = self.runtime.tokens
            principal = tokens.cached(authorization) or await tokens.authenticate(authorization)
            principal.require_write()
            refuse_non_json(content_type)
            body = parse_json(raw, MessageIn)
            with_content = True
            if scope["query_string"]:
                query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
                with_content = query.get("with_content", "true").lower() not in _FALSE
            row, committed = queue_message(self.writer, principal, app_ref, body)
            await committed
            answer = message_out(row, body, with_content=with_content)
            start, rest = response_messages(202, answer, headers=[*cors])
        except HookhubError as exc:
            start, rest = _error_messages(exc, cors)
        except ClientDisconnected:
            return  # nothing queued, nobody to answer
        except Exception:
            log_failure(scope)
            start, rest = _error_messages(InternalError(), cors)
        # Sent from here, not through send_bytes' coroutine: this runs on every create.
        await send(start)
        await send(rest)


def _error_messages(error: HookhubError, cors: tuple[tuple[bytes, bytes], ...]) -> tuple[dict, dict]:
    return response_messages(error.status, error.body(), headers=[*cors, *error_headers(error)])
