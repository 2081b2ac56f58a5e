"""Sending small responses straight over ASGI, without a framework Response object."""

from __future__ import annotations

from typing import Any

from hookhub.errors import HookhubError
from hookhub.http.dispatch import Send

JSON = b"application/json"
NO_CONTENT = frozenset({204, 304})  # statuses whose answer ends with its head (RFC 9110 §6.4.1)
# CORS for a simple request from a browser (they send Origin on every cross-origin request): the
# headers the API stack's CORS middleware adds, which the plain-ASGI fast paths add themselves.
CORS_SIMPLE = ((b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", b"*"))
# On every answer on /webhook/, whose content strangers choose (a reply, a fixed body, an echoed
# challenge) but which is served on hookhub's own origin, beside the dashboard and the API: a
# browser shows it in a sandbox of its own (an opaque origin, no scripts, no forms) and takes its
# Content-Type as given, never guessing at HTML.
SANDBOXED = ((b"content-security-policy", b"sandbox"), (b"x-content-type-options", b"nosniff"))


def error_headers(error: HookhubError) -> list[tuple[bytes, bytes]]:
    """An error's own headers (Allow, Retry-After, …) as ASGI header pairs."""
    return [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]


def response_messages(
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ASGI ``http.response.start`` and ``http.response.body`` messages of a small answer."""
    raw_headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    if headers:
        raw_headers.extend(headers)
    return (
        {"type": "http.response.start", "status": status, "headers": raw_headers},
        {"type": "http.response.body", "body": body},
    )


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    start, rest = response_messages(status, body, content_type, headers)
    await send(start)
    await send(rest)


async def send_error(send: Send, error: HookhubError, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send_bytes(send, error.status, error.body(), headers=[*error_headers(error), *extra])
