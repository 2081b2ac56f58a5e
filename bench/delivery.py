"""Deliveries/s: a backlog of messages is drained by a worker into the counting receiver."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from bench.figures import NotAvailable


@dataclass(slots=True)
class Drain:
    delivered: int
    expected: int
    seconds: float  # first to last arrival at the receiver
    since_start: float  # worker start to last arrival (includes the worker's start-up)

    @property
    def rate(self) -> float:
        return (self.delivered - 1) / self.seconds if self.seconds > 0 else 0.0


def stats(receiver_url: str) -> dict:
    return httpx.get(receiver_url + "/_stats", timeout=10).json()


def reset(receiver_url: str) -> None:
    httpx.post(receiver_url + "/_reset", timeout=10).raise_for_status()


def wait_first(receiver_url: str, timeout: float) -> bool:
    """Poll until the receiver has something (bounded); False when nothing came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stats(receiver_url)["count"]:
            return True
        time.sleep(0.05)
    return False


def wait_quiet(receiver_url: str, quiet: float, timeout: float) -> int:
    """Poll until the receiver's count has not moved for ``quiet`` seconds (bounded); the count."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = stats(receiver_url)["count"]
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.1)
    return count


def measure_drain(receiver_url: str, expected: int, started_at: float, timeout: float) -> Drain:
    """Watch the receiver until ``expected`` arrived (or progress stops, or ``timeout``)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = 0, time.monotonic()
    while time.monotonic() < deadline:
        current = stats(receiver_url)
        count = current["count"]
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        idle = time.monotonic() - last_change
        if count >= expected and idle >= 0.5:
            break
        if count == 0 and idle > 15:
            raise NotAvailable("n/a (nothing delivered within 15 s)")
        if count and idle > 5:
            break
        time.sleep(0.1)
    current = stats(receiver_url)
    if current["count"] == 0:
        raise NotAvailable("n/a (nothing delivered)")
    return Drain(
        delivered=current["count"],
        expected=expected,
        seconds=current["last"] - current["first"],
        since_start=current["last"] - started_at,
    )
