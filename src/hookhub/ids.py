"""Object ids: a type prefix plus a KSUID (``app_2b…``), strictly increasing within a process.

A KSUID is 20 bytes shown as 27 base62 digits: 4 bytes of seconds since the KSUID epoch, then 16
of payload. A plain KSUID orders only to the second; list pagination and listener resume need a
strict order, so the payload starts with a per-process nanosecond counter and ends in randomness.

Ids are made on every ingest and message, so the encoding is arranged to be cheap: the value is
``A * 62**16 + B`` where ``A`` carries the seconds and the counter and ``B`` is 16 random base62
digits taken from a pool (one ``os.urandom`` call per few hundred ids). Only ``A``'s 11 digits
need arithmetic. Two counter values differ by ``2**96 > 62**16`` in the value, so ``A`` grows
with the counter and the order stays strict whatever ``B`` is; the seconds read back from the
KSUID are exact, and the random part keeps ~95 bits.
"""

from __future__ import annotations

import os
import threading
import time

PREFIXES = ("app", "ep", "msg", "atmpt", "evtype", "src", "evt", "tok", "dlv")

_KSUID_EPOCH = 1_400_000_000
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_RANDOM_DIGITS = 16
_LOW = 62**_RANDOM_DIGITS

# Random bytes below 248 (= 4 * 62) map evenly onto the 62 digits; the rest are dropped.
_TO_DIGIT = bytes(ord(_BASE62[byte % 62]) if byte < 248 else 0 for byte in range(256))
_UNEVEN = bytes(range(248, 256))

_lock = threading.Lock()
_last_ns = 0
_pool = ""
_pool_at = 0


def _refill() -> str:
    return os.urandom(4096).translate(_TO_DIGIT, _UNEVEN).decode("ascii")


def _next() -> tuple[int, str]:
    """The next counter value (nanoseconds, strictly increasing) and 16 random digits."""
    global _last_ns, _pool, _pool_at
    with _lock:
        now = time.time_ns()
        _last_ns = now if now > _last_ns else _last_ns + 1
        if _pool_at + _RANDOM_DIGITS > len(_pool):
            _pool, _pool_at = _refill(), 0
        start = _pool_at
        _pool_at = start + _RANDOM_DIGITS
        return _last_ns, _pool[start:_pool_at]


# ``A``'s 11 digits: the leading 6 change about twice a second, so the last ones made are kept.
_LOW_SPLIT = 62**5
_leading: tuple[int, str] = (-1, "")


def new_id(prefix: str) -> str:
    global _leading
    ns, random_digits = _next()
    seconds, fraction = divmod(ns, 1_000_000_000)
    lead, low = divmod(((seconds - _KSUID_EPOCH) << 128 | fraction << 96) // _LOW, _LOW_SPLIT)
    known, leading_digits = _leading
    if lead != known:
        leading_digits = _base62(lead, 6)
        _leading = (lead, leading_digits)
    low, last = divmod(low, 62)
    high_pair, low_pair = divmod(low, 3844)
    pairs = _BASE62_PAIRS
    return f"{prefix}_{leading_digits}{pairs[high_pair]}{pairs[low_pair]}{_BASE62[last]}{random_digits}"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def first_id_at(prefix: str, seconds: float) -> str:
    """The smallest id of ``prefix`` that can be made at ``seconds`` (Unix time) or later."""
    lead = ((max(int(seconds), _KSUID_EPOCH) - _KSUID_EPOCH) << 128) // _LOW  # ``A`` with a zero counter
    return f"{prefix}_{_base62(lead * _LOW, 27)}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 1 + 27
