"""Fetches Alexa signing certificate chains (the I/O half of ``verifiers/alexa.py``), cached by URL.

The URL comes from the request, within the source's URL rule (Amazon's, or an operator prefix),
so the fetch goes through the same SSRF guard as webhook deliveries: addresses in private,
loopback and link-local networks are refused unless ``HOOKHUB_ALLOW_PRIVATE_NETWORKS`` allows them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import aiohttp

from hookhub.delivery.ssrf import DestinationRefused, GuardedResolver, Network, destination_url, url_refusal
from hookhub.inbound.compiled import CompiledSource
from hookhub.inbound.verifiers import alexa
from hookhub.inbound.verifiers.base import InboundRequest

log = logging.getLogger("hookhub.inbound")
CACHE_SECONDS = 3600.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_CHAIN_BYTES = 64 * 1024


class AlexaChains:
    def __init__(self, allowed_networks: Sequence[Network] = ()) -> None:
        self._allowed = tuple(allowed_networks)
        self._cache: dict[str, tuple[float, bytes]] = {}

    async def chain_for(self, source: CompiledSource, request: InboundRequest) -> bytes | None:
        """The PEM chain ``alexa.verify`` checks the request with; None when there is none to fetch."""
        url = request.header("signaturecertchainurl") or ""
        if url and alexa.cert_url_allowed(url, source.config):
            return await self._fetch(url)
        return None

    async def _fetch(self, url: str) -> bytes | None:
        hit = self._cache.get(url)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            target = destination_url(url)  # the host exactly as aiohttp will connect to it
        except ValueError as exc:
            log.warning("alexa: not fetching the certificate chain at %s: %s", url, exc)
            return None
        refused = url_refusal(target, self._allowed)
        if refused:
            log.warning("alexa: not fetching the certificate chain at %s: %s", url, refused)
            return None
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._allowed))
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
                session.get(target, allow_redirects=False) as response,
            ):
                body = await response.content.read(MAX_CHAIN_BYTES + 1)
                status = response.status
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, DestinationRefused):
                log.warning("alexa: not fetching the certificate chain at %s: %s", url, exc.os_error)
            return None
        except (aiohttp.ClientError, TimeoutError):
            return None
        if status != 200 or len(body) > MAX_CHAIN_BYTES:
            return None
        if len(self._cache) > 100:
            self._cache.clear()
        self._cache[url] = (time.monotonic() + CACHE_SECONDS, body)
        return body
