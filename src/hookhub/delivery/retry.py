"""When to try again: pure functions of the attempt count, the schedule and the response."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Retry-After is honoured up to this many seconds; beyond it the header is ignored.
MAX_RETRY_AFTER_SECONDS = 3600.0
# +/- this fraction of each delay, so that a burst of failures does not retry in lockstep.
JITTER = 0.1


def next_delay(
    attempts_made: int,
    delays: tuple[float, ...],
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` attempts, or None when exhausted.

    ``delays[0]`` is the delay before the first attempt, so attempt n+1 waits ``delays[n]``:
    the schedule allows ``len(delays)`` attempts in all.
    """
    if attempts_made >= len(delays):
        return None
    delay = delays[attempts_made]
    if delay > 0:
        delay *= 1 + (rng or random).uniform(-JITTER, JITTER)
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER_SECONDS:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0) if seconds == seconds else None  # NaN check
