"""The SSRF guard: destinations must be public addresses unless the operator allows more.

It judges the host the HTTP client will really connect to, not the host as written:

1. ``destination_url`` reads the URL as aiohttp does (yarl: IDNA/UTS-46 mapping, so full-width
   digits or ideographic full stops become ``127.0.0.1``); a host that does not survive that is
   refused.
2. ``url_refusal`` judges a host that is an IP address in any spelling the client or the
   system resolver accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``): aiohttp
   skips the resolver for IP literals, so these are judged here.
3. ``GuardedResolver`` judges every address a name resolves to, inside the client's resolver,
   on the very addresses it then connects to, so a DNS answer cannot change between the check
   and the connection.

An IPv6 address that carries an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) is judged by
the IPv4 address as well.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HINT = "refused by the SSRF guard (allow it with HOOKHUB_ALLOW_PRIVATE_NETWORKS)"
# The well-known NAT64 prefix (RFC 6052): a translator connects to the IPv4 address in the low bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Hosts the system resolver may read as an IPv4 address in a legacy spelling (inet_aton's).
_LEGACY_IPV4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class DestinationRefused(OSError):
    """The destination resolves to an address hookhub is not allowed to call."""


def destination_url(url: str) -> URL:
    """``url`` exactly as aiohttp reads it (a ``ValueError`` if its host cannot be normalised).

    aiohttp builds its request from ``yarl.URL(url)``; passing this object on to it means the
    host judged here is the host it connects to.
    """
    try:
        parsed = URL(url)
        host = parsed.raw_host and parsed.host  # decoding too: ``xn--`` encodes but never decodes
    except (ValueError, UnicodeError) as exc:  # UnicodeError: IDNA refused the host
        raise ValueError(f"the host does not survive IDNA normalisation: {exc}") from None
    if not host:
        raise ValueError("the URL has no host")
    return parsed


def literal_address(host: str) -> Address | None:
    """The address an IP-literal host stands for, in any spelling; None for a name."""
    if ":" not in host and not _LEGACY_IPV4.fullmatch(host):
        return None  # a name (and no failed parse, which costs more than the regex)
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:  # the resolver's own reading of numeric hosts, without a lookup
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except OSError:
        return None
    return ipaddress.ip_address(infos[0][4][0])


def url_refusal(url: URL, allowed: Sequence[Network]) -> str | None:
    """Why ``url`` may not be called before any lookup (its host is an IP literal the guard
    refuses), or None; names are judged by ``GuardedResolver`` when they are resolved."""
    host = url.raw_host or ""
    address = literal_address(host)
    if address is None:
        # aiohttp takes any host with a colon for an IP address and skips the resolver.
        return f"host {host!r} is not a valid IP address" if ":" in host else None
    reason = refusal_reason(address, allowed)
    if reason and host != str(address):
        return f"host {host} is the address {address}: {reason}"
    return reason


def refusal_reason(address: Address, allowed: Sequence[Network]) -> str | None:
    """Why ``address`` may not be called, or None when it may."""
    for judged in _judged_addresses(address):
        if any(judged in network for network in allowed):
            continue
        kind = _kind(judged)
        if kind is None:
            continue
        if judged == address:
            return f"destination address {address} is {kind}; {ALLOW_HINT}"
        return f"destination address {address} carries {judged}, which is {kind}; {ALLOW_HINT}"
    return None


def _judged_addresses(address: Address) -> Iterator[Address]:
    """Every IPv4 address ``address`` carries, then itself (an IPv4-mapped one is only its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            yield address.ipv4_mapped
            return
        if address.sixtofour is not None:
            yield address.sixtofour
        if address.teredo is not None:
            yield from address.teredo  # (server, client)
        if address in _NAT64:
            yield ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    yield address


def _kind(address: Address) -> str | None:
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
            return kind
    return None


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
