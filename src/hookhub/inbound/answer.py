"""What the ingest path answers: status, body, content type, extra headers."""

from __future__ import annotations

from dataclasses import dataclass, field

from hookhub.errors import HookhubError
from hookhub.http.dispatch import Send

JSON = b"application/json"


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, send: Send, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        body = self.body
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", b"%d" % len(body)),
            *self.headers,
            *extra,
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def error_answer(error: HookhubError) -> Answer:
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    return Answer(error.status, error.body(), JSON, headers)
