"""Object ids: a type prefix plus a KSUID (``app_2b…``), monotonic within a process.

A plain KSUID orders only to the second; list pagination and listener resume need a strict
order, so the first bytes of the payload carry a per-process counter based on nanoseconds.
"""

from __future__ import annotations

import os
import threading
import time

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
    seconds = ns // 1_000_000_000 - _KSUID_EPOCH
    return f"{prefix}_{_base62(seconds.to_bytes(4, 'big') + payload)}"


# The KSUID string encoding (what ``str(Ksuid(…))`` gives), done in small-int steps: ids are
# made on every ingest and message, and the generic big-int conversion costs ~5x more.
_KSUID_EPOCH = 1_400_000_000
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_9 = 62**9
_BASE62_PAIRS = [a + b for a in _BASE62 for b in _BASE62]


def _base62(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    chunks: list[str] = []
    for _ in range(3):  # 27 digits as three chunks of 9 = 2 + 2 + 2 + 2 + 1
        number, chunk = divmod(number, _BASE62_9)
        chunk, last = divmod(chunk, 62)
        chunk, pair1 = divmod(chunk, 3844)
        chunk, pair2 = divmod(chunk, 3844)
        chunk, pair3 = divmod(chunk, 3844)
        pairs = _BASE62_PAIRS
        chunks.append(pairs[chunk] + pairs[pair3] + pairs[pair2] + pairs[pair1] + _BASE62[last])
    return "".join(reversed(chunks))


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 1 + 27
