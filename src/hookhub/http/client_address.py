"""The address a request came from, through trusted reverse proxies (``X-Forwarded-For``).

Only ingest stores it (an event's ``sourceIp``), so it is worked out there, from the header dict
ingest builds anyway, instead of by uvicorn's proxy-headers middleware on every request (a
coroutine layer and a header dict of its own). Same rule as uvicorn's: when the peer is a
trusted proxy, the address is the right-most ``X-Forwarded-For`` entry that is not itself a
trusted proxy (the first entry when all are).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(value: str) -> tuple[Network, ...] | None:
    """``HOOKHUB_TRUSTED_PROXIES``: comma-separated addresses or CIDRs; ``*`` (None) trusts every peer."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if "*" in parts:
        return None
    return tuple(ipaddress.ip_network(part, strict=False) for part in parts)


class ClientAddress:
    def __init__(self, trusted: tuple[Network, ...] | None) -> None:
        self._trusted = trusted
        # Peers repeat (a proxy, a few senders): remembered, an address check is a dict lookup.
        self.trusts = lru_cache(maxsize=1024)(self._trusts)

    def of_request(self, scope: dict[str, Any], headers: dict[str, str]) -> str | None:
        """The client's address for an ASGI ``scope`` whose decoded ``headers`` are at hand."""
        peer = scope.get("client")
        return self.of(peer[0] if peer else None, headers.get("x-forwarded-for"))

    def of(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address, given the connection's ``peer`` and the request's header."""
        if forwarded_for is None or peer is None or not self.trusts(peer):
            return peer
        hosts = [host.strip() for host in forwarded_for.split(",")]
        for host in reversed(hosts):
            if host and not self.trusts(host):
                return host
        return hosts[0] or peer

    def _trusts(self, host: str) -> bool:
        if self._trusted is None:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._trusted)
