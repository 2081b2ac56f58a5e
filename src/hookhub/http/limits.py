"""What one connection may cost the server: the size and pace of a request, and how many
connections are open at once. ``serve`` reads them from the settings; ``HttpProtocol`` applies them."""

from __future__ import annotations

import resource
from dataclasses import dataclass

DEFAULT_MAX_HEAD_BYTES = 64 * 1024
DEFAULT_HEAD_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS_CEILING = 10_000
# Descriptors left to everything but clients: the database pool, Redis, log and SQLite files, the
# event loop's own; the embedded delivery worker adds its outgoing connections.
RESERVED_DESCRIPTORS = 128


@dataclass(frozen=True)
class ConnectionLimits:
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES  # request line and header fields
    head_timeout: float = DEFAULT_HEAD_TIMEOUT_SECONDS  # from a head's first byte to its end
    body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS  # the longest pause within a body
    max_connections: int | None = None  # HTTP and WebSocket connections open at once


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit, as Go programs do at
    start (the soft limit is often 1,024 where the hard one is far higher); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else target
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


def default_max_connections(open_files: int, reserved: int) -> int:
    """As many connections as the open-files limit leaves room for beside ``reserved`` other
    descriptors (a quarter of the limit at least), at most 10,000."""
    return min(MAX_CONNECTIONS_CEILING, max(open_files // 4, open_files - reserved))
