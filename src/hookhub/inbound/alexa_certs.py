"""Fetches Alexa signing certificate chains (the I/O half of ``verifiers/alexa.py``), cached by URL."""

from __future__ import annotations

import time

import httpx

from hookhub.inbound.compiled import CompiledSource
from hookhub.inbound.verifiers import alexa
from hookhub.inbound.verifiers.base import InboundRequest, Verdict

CACHE_SECONDS = 3600.0
MAX_CHAIN_BYTES = 64 * 1024


class AlexaChains:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, bytes]] = {}

    async def verify(self, source: CompiledSource, request: InboundRequest) -> Verdict:
        url = request.header("signaturecertchainurl") or ""
        chain = None
        if url and alexa.cert_url_allowed(url, source.config):
            chain = await self._fetch(url)
        return alexa.verify(request, source.config, chain)

    async def _fetch(self, url: str) -> bytes | None:
        hit = self._cache.get(url)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        try:
            async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
                response = await client.get(url)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or len(response.content) > MAX_CHAIN_BYTES:
            return None
        if len(self._cache) > 100:
            self._cache.clear()
        self._cache[url] = (time.monotonic() + CACHE_SECONDS, response.content)
        return response.content
