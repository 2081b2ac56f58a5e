"""What the ingest path answers: status, body, content type, extra headers; always sandboxed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hookhub.errors import HookhubError
from hookhub.http.dispatch import Send
from hookhub.http.responses import JSON, SANDBOXED, error_headers, response_messages


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def messages(self, extra: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ASGI ``http.response.start`` and ``http.response.body`` messages of this answer."""
        headers = [*self.headers, *extra, *SANDBOXED]
        return response_messages(self.status, self.body, self.content_type, headers)

    async def send(self, send: Send, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        start, body = self.messages(extra)
        await send(start)
        await send(body)


def error_answer(error: HookhubError) -> Answer:
    return Answer(error.status, error.body(), JSON, error_headers(error))
