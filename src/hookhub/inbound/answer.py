"""What the ingest path answers: status, body, content type, extra headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hookhub.errors import HookhubError
from hookhub.http.dispatch import Send

JSON = b"application/json"


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def messages(self, extra: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ASGI ``http.response.start`` and ``http.response.body`` messages of this answer."""
        body = self.body
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", b"%d" % len(body)),
            *self.headers,
            *extra,
        ]
        return (
            {"type": "http.response.start", "status": self.status, "headers": headers},
            {"type": "http.response.body", "body": body},
        )

    async def send(self, send: Send, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        start, body = self.messages(extra)
        await send(start)
        await send(body)


def error_answer(error: HookhubError) -> Answer:
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    return Answer(error.status, error.body(), JSON, headers)
