"""The send stage: pooled aiohttp sessions, a timeout that counts only time on the wire, and
whatever the receiver does turned into a Response: nothing a peer does makes ``post`` raise.

aiohttp over httpx by measurement (docs/delivery.md): about 10x the requests/s to a loopback
receiver on this class of machine, and its resolver hook carries the SSRF guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import aiohttp
from yarl import URL

from hookhub import __version__
from hookhub.delivery.host_slots import HostSlots
from hookhub.delivery.retry import parse_retry_after
from hookhub.delivery.ssrf import DestinationRefused, GuardedResolver, Network, destination_url, url_refusal

log = logging.getLogger("hookhub.delivery")

# Stored response bodies are cut to this many characters (read from at most 4x as many bytes).
RESPONSE_LIMIT = 4096
KEEP_BYTES = RESPONSE_LIMIT * 4
# An answer's body is read to its end, so that one cut short is noticed, up to this many bytes;
# past it the rest is dropped with the connection.
DRAIN_LIMIT = 1 << 20
# Requests at once per destination host: beyond it they wait for a slot (and so for a pooled
# keep-alive connection), which is cheaper than opening one per in-flight request.
PER_HOST_CONNECTIONS = 64
USER_AGENT = f"hookhub-webhooks/{__version__}"
# aiohttp's own timeouts are off: the sender's clock starts once a request holds a slot.
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)


@dataclass(slots=True)
class Response:
    """What came back from one HTTP attempt (status 0: no complete HTTP answer at all).

    ``sent`` is False when no connection to the host came free in time: nothing was sent.
    """

    status: int
    body: str
    duration_ms: int
    retry_after: float | None = None
    sent: bool = True

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Sender:
    def __init__(
        self, timeout: float, allowed_networks: tuple[Network, ...], *, slot_wait: float | None = None
    ) -> None:
        """``timeout``: seconds a request may take once on a connection (connecting included);
        ``slot_wait``: seconds it may wait for one before it (default: ``timeout`` again)."""
        self._timeout = timeout
        self._slot_wait = timeout if slot_wait is None else slot_wait
        self._allowed = allowed_networks
        self._slots = HostSlots(PER_HOST_CONNECTIONS)
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _open(self, guarded: bool) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=0,  # the slots bound requests per host; the worker bounds them in all
            ttl_dns_cache=10,
            resolver=GuardedResolver(self._allowed) if guarded else None,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=_NO_TIMEOUT,
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def _session_for(self, guarded: bool) -> aiohttp.ClientSession:
        """The guarded session for destinations; an unguarded one for operator-set URLs."""
        if guarded not in self._sessions:
            self._sessions[guarded] = self._open(guarded)
        return self._sessions[guarded]

    async def close(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    async def post(
        self, url: str, headers: dict[str, str], body: bytes, *, guard: bool = True, method: str = "POST"
    ) -> Response:
        """POST ``body`` (or ``method``: a transformation may choose PUT or PATCH); ``guard=False``
        only for operator-set URLs (operational webhooks)."""
        try:
            target = destination_url(url)  # the host exactly as aiohttp will connect to it
        except ValueError as exc:
            return Response(0, f"Invalid URL: {exc}", 0)
        refused = url_refusal(target, self._allowed) if guard else None
        if refused:
            return Response(0, f"Refused: {refused}", 0)
        key = (guard, target.scheme, target.raw_host, target.port)
        if not await self._slots.acquire(key, self._slot_wait):
            reason = f"No connection to {target.host} came free within {self._slot_wait:g} s"
            return Response(0, reason, 0, sent=False)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                status, text, retry_after = await self._exchange(target, headers, body, guard, method)
        except Exception as exc:  # whatever went wrong, it is this attempt's outcome
            status, text, retry_after = 0, self._failure(exc, target), None
        finally:
            self._slots.release(key)
        duration = int((time.perf_counter() - started) * 1000)
        return Response(status, text[:RESPONSE_LIMIT], duration, retry_after)

    async def _exchange(
        self, target: URL, headers: dict[str, str], body: bytes, guard: bool, method: str
    ) -> tuple[int, str, float | None]:
        session = self._session_for(guard)
        sending = session.request(method, target, data=body, headers=headers, allow_redirects=False)
        async with sending as resp:
            kept = bytearray()
            received = 0
            try:
                while received <= DRAIN_LIMIT and (chunk := await resp.content.readany()):
                    if len(kept) < KEEP_BYTES:
                        kept += chunk[: KEEP_BYTES - len(kept)]
                    received += len(chunk)
            except aiohttp.ClientPayloadError as exc:
                answer = f"{resp.status} {resp.reason or ''}".strip()
                return 0, f"Unreadable answer body ({answer}, {received} bytes read): {_cause(exc)}", None
            retry_after = None
            if resp.status in (429, 503):
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            return resp.status, body_text(bytes(kept), resp.charset), retry_after

    def _failure(self, exc: Exception, target: URL) -> str:
        """The recorded reason for an attempt that got no complete HTTP answer."""
        if isinstance(exc, TimeoutError):
            return f"Timed out after {self._timeout:g} s"
        if isinstance(exc, aiohttp.ClientConnectorError):
            if isinstance(exc.os_error, DestinationRefused):
                return f"Refused: {exc.os_error}"
            return f"Connection failed: {exc.os_error or exc}"
        if isinstance(exc, aiohttp.InvalidURL):
            return f"Invalid URL: {exc}"
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return "Connection closed by the receiver before a complete answer"
        if isinstance(exc, aiohttp.ClientResponseError):  # the answer broke HTTP's rules
            return f"Invalid HTTP answer: {exc.message}"
        if isinstance(exc, aiohttp.ClientError):
            return f"Request failed: {type(exc).__name__}: {exc}"
        log.warning("sending to %s failed unexpectedly", target, exc_info=exc)
        return f"Request failed: {type(exc).__name__}: {exc}"


def body_text(raw: bytes, charset: str | None) -> str:
    """The answer's body as storable text: in its declared charset when Python has that text
    codec, else UTF-8; undecodable bytes, NULs and lone surrogates replaced."""
    text = None
    if charset:
        with contextlib.suppress(LookupError, UnicodeError, ValueError):  # unknown, or not a text codec
            text = raw.decode(charset, errors="replace")
    if text is None:
        text = raw.decode("utf-8", errors="replace")
    if text.isascii():
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    return text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")


def _cause(exc: BaseException) -> str:
    """What the innermost cause says (aiohttp's payload errors wrap the parser's)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(getattr(exc, "message", "") or exc).strip() or type(exc).__name__
