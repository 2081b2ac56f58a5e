"""Object ids: a type prefix plus a KSUID (``app_2b…``), monotonic within a process.

A plain KSUID orders only to the second; list pagination and listener resume need a strict
order, so the first bytes of the payload carry a per-process counter based on nanoseconds.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

from ksuid import Ksuid

PREFIXES = ("app", "ep", "msg", "atmpt", "evtype", "src", "evt", "tok", "dlv")

_lock = threading.Lock()
_last_ns = 0


def _next_ns() -> int:
    global _last_ns
    with _lock:
        now = time.time_ns()
        _last_ns = now if now > _last_ns else _last_ns + 1
        return _last_ns


def new_id(prefix: str) -> str:
    ns = _next_ns()
    payload = (ns % 1_000_000_000).to_bytes(4, "big") + os.urandom(12)
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    return f"{prefix}_{Ksuid(stamp, payload)}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 1 + 27
