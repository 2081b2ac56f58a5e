"""At most N requests at a time to one destination host, and a bounded wait for a free slot.

The sender holds a slot for the whole of a request, so the HTTP client's own pool never makes a
request wait: a request that holds a slot is on a connection (a pooled one, or one being opened)
at once, and its timeout counts only that time. Waiting for a slot is bounded separately.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class _Host:
    __slots__ = ("free", "users")

    def __init__(self, size: int) -> None:
        self.free = asyncio.Semaphore(size)
        self.users = 0  # holders and waiters: the entry is dropped when none are left


class HostSlots:
    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._hosts: dict[Hashable, _Host] = {}

    async def acquire(self, key: Hashable, wait: float) -> bool:
        """Take a slot for ``key``; False (and nothing taken) if none came free within ``wait`` s."""
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(self._per_host)
        host.users += 1
        if not host.free.locked():
            await host.free.acquire()  # returns at once
            return True
        try:
            async with asyncio.timeout(wait):
                await host.free.acquire()
        except TimeoutError:
            self._leave(key, host)
            return False
        except BaseException:
            self._leave(key, host)
            raise
        return True

    def __len__(self) -> int:
        """Hosts with requests holding or waiting for a slot (no others are remembered)."""
        return len(self._hosts)

    def release(self, key: Hashable) -> None:
        host = self._hosts[key]
        host.free.release()
        self._leave(key, host)

    def _leave(self, key: Hashable, host: _Host) -> None:
        host.users -= 1
        if host.users == 0:
            del self._hosts[key]
