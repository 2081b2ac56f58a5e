"""The SSRF guard: destinations must resolve to public addresses unless the operator allows more.

The check runs inside the HTTP client's resolver, on the very addresses it then connects to,
so a DNS answer cannot change between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(OSError):
    """The destination resolves to an address hookhub is not allowed to call."""


def refusal_reason(address: Address, allowed: Sequence[Network]) -> str | None:
    """Why ``address`` may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),
    ):
        if flag:
            return (
                f"destination address {address} is {kind}; refused by the SSRF guard "
                "(allow it with HOOKHUB_ALLOW_PRIVATE_NETWORKS)"
            )
    return None


def check_literal_host(host: str, allowed: Sequence[Network]) -> str | None:
    """Refusal reason for an IP-literal host (the resolver is skipped for those), else None."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return refusal_reason(address, allowed)


class GuardedResolver(AbstractResolver):
    """Resolves like the default resolver, then refuses if any answer is not allowed."""

    def __init__(self, allowed: Sequence[Network], inner: AbstractResolver | None = None) -> None:
        self._allowed = tuple(allowed)
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = refusal_reason(ipaddress.ip_address(result["host"]), self._allowed)
            if reason:
                raise DestinationRefused(f"{host} resolves to {result['host']}: {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()

    def __getattr__(self, name: str) -> Any:  # pragma: no cover - passthrough
        return getattr(self._inner, name)
