"""The ingest pipeline, apart from the transport: checks, storing, publishing and answering.

HTTP order: unknown source 404 → handshake (Meta/Fitbit GET) → method 405 → throttle 429 → size 413
(``precheck`` and the ASGI app) → credentials / signature / signed timestamp / replay 401 → signed
handshakes → malformed 400 → schema 400 → stored (event + deliveries, one transaction,
group-committed) → published → answered.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import orjson

from hookhub import ids
from hookhub.errors import BadRequest, MethodNotAllowed, RateLimited, Unauthorized
from hookhub.http.client_address import ClientAddress, parse_trusted
from hookhub.inbound import handshakes, verifiers
from hookhub.inbound.alexa_certs import AlexaChains
from hookhub.inbound.answer import Answer, error_answer
from hookhub.inbound.cache import SourceCache
from hookhub.inbound.compiled import REDACTED, CompiledSource, compile_source
from hookhub.inbound.invalidation import SourceInvalidation
from hookhub.inbound.seen_ids import make_seen_ids
from hookhub.inbound.store import find_by_key
from hookhub.inbound.throttle import LocalLimiter, make_limiter, retry_after
from hookhub.inbound.verifiers.base import InboundRequest, pairs_to_dict
from hookhub.inbound.writer import EventWriter
from hookhub.relay.events import listener_event
from hookhub.relay.signature import sign_event
from hookhub.store.outage import log_failure

if TYPE_CHECKING:
    from hookhub.runtime import Runtime

log = logging.getLogger("hookhub.inbound")
EVENT_ID_HEADER = b"x-hookhub-event-id"
DUPLICATE_HEADER = b"x-hookhub-duplicate"
_REPLAYED = "signature (replayed): this signed request was already received; each is accepted once"


class Pipeline:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.base_url = runtime.settings.base_url
        self.cache = SourceCache(self._load, ttl=runtime.settings.source_cache_seconds)
        link = runtime.redis
        self.invalidation = (
            SourceInvalidation(link, self.cache, runtime.relay.recheck_listeners)
            if link is not None
            else None
        )
        self.limiter = make_limiter(link)
        self.local_limiter = self.limiter if isinstance(self.limiter, LocalLimiter) else None
        self.throttles_remotely = self.local_limiter is None  # then ``throttle`` after ``precheck``
        self.seen = make_seen_ids(link)  # signed requests, within their window
        self.writer = EventWriter(
            runtime.db, runtime.deliveries_enqueued, first_delay=runtime.settings.retry_delays[0]
        )
        self.alexa = AlexaChains(runtime.settings.private_networks_allowed)
        self.client_address = ClientAddress(parse_trusted(runtime.settings.trusted_proxies))

    async def start(self) -> None:
        await self.writer.start()
        if self.invalidation is not None:
            await self.invalidation.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.limiter.close()
        await self.seen.close()
        if self.invalidation is not None:
            await self.invalidation.stop()

    async def forget_sources(self, *keys: str | None) -> None:
        """A source changed: drop it from this node's cache and every other node's, and
        disconnect the listeners its old keys or listen secret no longer let in."""
        known = [key for key in keys if key]
        self.cache.forget(*known)
        if known:
            await self.runtime.relay.recheck_listeners(known)
        if self.invalidation is not None and known:
            await self.invalidation.publish(known)

    async def _load(self, key: str) -> CompiledSource | None:
        async with self.runtime.db.read() as conn:
            row = await find_by_key(conn, key)
        return compile_source(row, self.runtime.settings.event_retention_days) if row else None

    def precheck(self, source: CompiledSource, request: InboundRequest) -> Answer | None:
        """Everything that needs no body and no I/O: handshakes, method, the in-process throttle
        (a plain function: it runs on every request). With Redis, ``throttle`` comes next."""
        answer = handshakes.before_auth(source, request)
        if answer is not None:
            return answer
        if request.method not in source.methods:
            allowed = ", ".join(sorted(source.methods))
            return error_answer(
                MethodNotAllowed(
                    f"{request.method} is not allowed here; use {allowed}", headers={"Allow": allowed}
                )
            )
        local = self.local_limiter
        if local is not None:
            return _throttled(local.hit_now(source.id, source.throttle_limit, source.throttle_period))
        return None

    async def throttle(self, source: CompiledSource) -> Answer | None:
        """429 when the source is over its rate limit; None when the request may go on."""
        return _throttled(await self.limiter.hit(source.id, source.throttle_limit, source.throttle_period))

    async def accept(
        self, source: CompiledSource, request: InboundRequest, client_ip: str | None, *, verify: bool = True
    ) -> Answer:
        failure = source.auth.failure(request.headers)
        if failure:
            return error_answer(Unauthorized(f"auth ({source.auth.kind}): {failure}"))
        replay_key = None
        if verify and source.verifier is not None:
            extra = (await self.alexa.chain_for(source, request),) if source.type == "alexa" else ()
            verdict = verifiers.run(source.verifier, request, source.config, source.replay_window, *extra)
            if not verdict.ok:
                return error_answer(Unauthorized(f"signature ({verdict.check}): {verdict.detail}"))
            replay_key = verdict.replay_key
            if replay_key is not None and not await self._first_seen(source, replay_key):
                return error_answer(Unauthorized(_REPLAYED))
        try:
            payload = parse_payload(request)
        except BadRequest as exc:
            return error_answer(exc)
        answer = handshakes.after_verify(source, payload, request)
        if answer is not None:
            return answer
        if source.validator is not None:
            # A request without a body is validated as an empty object: optional fields only
            # (BotGhost's variables) pass, required ones (XToys' action) are reported missing.
            empty = payload is None and not request.body
            violations = schema_violations(source.validator, {} if empty else payload)
            if violations:
                return error_answer(BadRequest(violations))
        row, route_value = event_row(source, request, payload, client_ip)
        # Stored and answered here rather than in a method of its own: one coroutine less.
        try:
            await self.writer.write(row)
        except Exception:
            if replay_key is not None:  # not stored: the sender's retry is no replay
                await self.seen.forget(source.id, replay_key)
            raise
        first = row.get("duplicate_of")
        if first is not None:  # the provider sent this delivery before: answer as the first time
            self.runtime.metrics.ingest_duplicate(source.id)
            response = source.response
            headers = [(EVENT_ID_HEADER, first.encode()), (DUPLICATE_HEADER, b"true")]
            return Answer(response.status, response.body, response.content_type, headers)
        event_id, reply_id = row["id"], row["reply_id"]
        if reply_id or self.runtime.relay.has_audience(source.id):
            await self._publish(source, row, route_value)
        id_header = (EVENT_ID_HEADER, event_id.encode())
        if reply_id is None:
            response = source.response
            return Answer(response.status, response.body, response.content_type, [id_header])
        return await self._wait_reply(source, event_id, reply_id, id_header)

    async def _first_seen(self, source: CompiledSource, replay_key: str) -> bool:
        if source.replay_window is None:
            return True
        # Remembered for twice the window: a request may arrive up to a window before its
        # timestamp, and its replays are in time until a window after it.
        return await self.seen.first_seen(source.id, replay_key, 2 * source.replay_window)

    async def _publish(self, source: CompiledSource, row: dict[str, Any], route_value: Any) -> None:
        listener_json = listener_event(
            id=row["id"],
            method=row["method"],
            path=row["path"],
            query=row["query"],
            headers=row["headers"],
            body=row["body"],
            received_at=row["received_at"],
            reply_id=row["reply_id"],
            event_type=row["event_type"],
        )
        sign_event(listener_json, row["body"], source.relay_keys)
        try:
            await self.runtime.relay.publish(source.id, route_value, listener_json)
        except Exception:
            log.exception("publishing event %s to listeners failed (it is stored)", row["id"])

    async def _wait_reply(
        self, source: CompiledSource, event_id: str, reply_id: str, id_header: tuple[bytes, bytes]
    ) -> Answer:
        reply = await self.runtime.relay.wait_reply(reply_id, source.reply_timeout)
        if reply is None:
            await self._record_response(event_id, {"status": 504, "timedOut": True})
            body = orjson.dumps(
                {"code": "reply_timeout", "detail": f"No reply within {source.reply_timeout:g} seconds"}
            )
            return Answer(504, body, headers=[id_header])
        await self._record_response(event_id, {"status": reply.status, "headers": reply.headers})
        # Its headers were checked when it was posted (relay/replies.py): none frames the answer.
        content_type = b"text/plain; charset=utf-8"
        headers = [id_header]
        for name, value in reply.headers.items():
            lowered = name.lower()
            if lowered == "content-type":
                content_type = value.encode()
            else:
                headers.append((lowered.encode(), value.encode()))
        return Answer(reply.status, reply.body, content_type, headers)

    async def _record_response(self, event_id: str, response: dict[str, Any]) -> None:
        from hookhub.store.tables import event

        try:
            async with self.runtime.db.write() as conn:
                await conn.execute(event.update().where(event.c.id == event_id).values(response=response))
        except Exception:
            log_failure(log, "could not record the reply of event %s", event_id)


def event_row(
    source: CompiledSource, request: InboundRequest, payload: Any, client_ip: str | None
) -> tuple[dict[str, Any], Any]:
    """The event's row for the writer, and its routing value (None when the source routes none)."""
    event_type = route_value = dedupe_key = None
    if source.event_type_path or source.route_key_path or source.dedupe:
        view = {
            "body": payload,
            "headers": request.headers,
            "query": request.query,
            "path": request.path,
            "method": request.method,
        }
        if source.event_type_path:
            event_type = _text(source.event_type_path.resolve(view), 256)
            if event_type and source.event_type_path.root == "path":
                event_type = event_type.lstrip("/") or None  # /webhook/{key}/evt_123 → evt_123
        if source.route_key_path:
            route_value = source.route_key_path.resolve(view)
        if source.dedupe:
            dedupe_key = source.dedupe.key(view)
    reply_id = secrets.token_urlsafe(24) if source.reply_wait else None
    row = {
        "id": ids.new_id("evt"),
        "source_id": source.id,
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "headers": _redacted(source, request.headers),
        "body": request.body,
        "event_type": event_type,
        "route_key": _text(route_value, 10_000),
        "source_ip": client_ip,
        "reply_id": reply_id,
        "response": None if reply_id else {"status": source.response.status},
        "retention": source.retention,  # the batch sets received_at and expires_at
        "payload": payload,  # not stored: what destination filters match the body as
    }
    if dedupe_key is not None and source.dedupe is not None:
        row["dedupe_key"], row["dedupe_window"] = dedupe_key, source.dedupe.window_seconds
    return row, route_value


def _throttled(wait: float) -> Answer | None:
    if not wait:
        return None
    return error_answer(
        RateLimited("Over rate limit, request throttled", headers={"Retry-After": retry_after(wait)})
    )


def parse_payload(request: InboundRequest) -> Any:
    """The parsed body (JSON, form fields or text); for a GET without body, the query parameters.

    A body that claims to be JSON and is not → 400.
    """
    body = request.body
    if not body:
        return request.query if request.method == "GET" else None
    kind = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if kind.endswith("json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Malformed JSON body: {exc}") from None
    if kind == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        return pairs_to_dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not kind:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def schema_violations(validator: Any, payload: Any) -> list[dict[str, Any]]:
    errors = sorted(validator.iter_errors(payload), key=lambda error: list(map(str, error.absolute_path)))
    return [
        {"loc": ["body", *map(str, error.absolute_path)], "msg": error.message, "type": str(error.validator)}
        for error in errors
    ]


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text[:limit]


def _redacted(source: CompiledSource, headers: dict[str, str]) -> dict[str, str]:
    """The headers to store and relay: without the credential that authenticated the request, nor
    a provider secret sent as is (GitLab's token)."""
    headers = source.auth.redact(headers)
    for name in getattr(source.verifier, "SECRET_HEADERS", ()):
        if name in headers:
            headers = {**headers, name: REDACTED}
    return headers
