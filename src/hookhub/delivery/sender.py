"""The send stage: one pooled aiohttp session, strict timeouts, answers turned into Outcomes.

aiohttp over httpx by measurement (docs/delivery.md): about 10x the requests/s to a loopback
receiver on this class of machine, and its resolver hook carries the SSRF guard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from hookhub import __version__
from hookhub.delivery.retry import parse_retry_after
from hookhub.delivery.ssrf import DestinationRefused, GuardedResolver, Network, destination_url, url_refusal

# Stored response bodies are cut to this many characters.
RESPONSE_LIMIT = 4096
# Connections kept per destination host: requests beyond it wait for a pooled connection,
# which is cheaper than opening one per in-flight request.
PER_HOST_CONNECTIONS = 64
USER_AGENT = f"hookhub-webhooks/{__version__}"


@dataclass(slots=True)
class Response:
    """What came back from one HTTP attempt (status 0: no HTTP answer at all)."""

    status: int
    body: str
    duration_ms: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Sender:
    def __init__(self, timeout: float, allowed_networks: tuple[Network, ...], concurrency: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._allowed = allowed_networks
        self._concurrency = concurrency
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _open(self, guarded: bool) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._concurrency,
            limit_per_host=PER_HOST_CONNECTIONS,
            ttl_dns_cache=10,
            resolver=GuardedResolver(self._allowed) if guarded else None,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
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

    async def post(self, url: str, headers: dict[str, str], body: bytes, *, guard: bool = True) -> Response:
        started = time.perf_counter()

        def done(status: int, text: str, retry_after: float | None = None) -> Response:
            duration = int((time.perf_counter() - started) * 1000)
            return Response(status, text[:RESPONSE_LIMIT], duration, retry_after)

        try:
            target = destination_url(url)  # the host exactly as aiohttp will connect to it
        except ValueError as exc:
            return done(0, f"Invalid URL: {exc}")
        refused = url_refusal(target, self._allowed) if guard else None
        if refused:
            return done(0, f"Refused: {refused}")
        try:
            async with self._session_for(guard).post(
                target, data=body, headers=headers, allow_redirects=False
            ) as resp:
                raw = await resp.content.read(RESPONSE_LIMIT * 4)
                text = raw.decode(resp.charset or "utf-8", errors="replace")
                retry_after = None
                if resp.status in (429, 503):
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                return done(resp.status, text, retry_after)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, DestinationRefused):
                return done(0, f"Refused: {exc.os_error}")
            return done(0, f"Connection failed: {exc.os_error or exc}")
        except TimeoutError:
            return done(0, f"Timed out after {self._timeout.total:g} s")
        except aiohttp.InvalidURL as exc:
            return done(0, f"Invalid URL: {exc}")
        except aiohttp.ClientError as exc:
            return done(0, f"Request failed: {type(exc).__name__}: {exc}")
