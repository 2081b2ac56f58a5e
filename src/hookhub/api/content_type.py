"""Every API body is JSON: the one rule for its Content-Type, on FastAPI routes and hand-parsed
ones alike."""

from __future__ import annotations

from hookhub.errors import UnsupportedMediaType


def is_json_type(content_type: str | bytes | None) -> bool:
    """Every API body is JSON: one sent without a Content-Type is read as JSON (as Svix does);
    one declared as anything but ``application/json`` or a ``+json`` type is not."""
    if content_type is None or content_type in (b"application/json", "application/json"):
        return True
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        not media
        or media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    )


def refuse_non_json(content_type: str | bytes | None) -> None:
    if not is_json_type(content_type):
        shown = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
        raise UnsupportedMediaType(
            f"The body must be JSON: send Content-Type: application/json (got {shown[:100]!r})."
        )
