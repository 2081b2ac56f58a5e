"""Small helpers for the outbound routes: orjson responses, body parsing, common field rules."""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from hookhub.errors import BadRequest, ValidationFailed

M = TypeVar("M", bound=BaseModel)

NO_CONTENT = 204
# Digits to "0", everything else to " ": a run of 19 digits is then a plain substring search
# (a third of the regex ``\d{19}``'s time on a small body).
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19


def json_response(data: Any, status_code: int = 200) -> Response:
    """Serialise once with orjson; skips FastAPI's response_model pass."""
    return Response(orjson.dumps(data), status_code=status_code, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=NO_CONTENT)


def validation_from(exc: ValidationError, prefix: tuple[str | int, ...] = ("body",)) -> ValidationFailed:
    return ValidationFailed(
        [{"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
    )


async def parse_body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body by hand (used on hot paths instead of a FastAPI body param)."""
    return parse_json(await request.body(), model)


def parse_json(raw: bytes, model: type[M]) -> M:
    """Malformed JSON is a 400; a body that does not fit ``model`` a 422 with ``loc`` under body."""
    try:
        # orjson reads integers beyond 64 bits as floats (changing them); the standard library
        # keeps them exact, so that such payloads are refused the same way on every path.
        data = json.loads(raw) if has_long_number(raw) else orjson.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_from(exc) from None


def has_long_number(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of 19 or more digits (an integer orjson may not keep exact)."""
    return _NINETEEN_DIGITS in raw.translate(_DIGITS_ONLY)


URL_RULE = (
    "must be an absolute http:// or https:// URL with a host "
    "(or, for a source's destination, hookhub://app/{app id or uid})"
)
REPUBLISH_PREFIX = "hookhub://app/"  # a source destination that republishes to an application


def is_endpoint_url(url: str) -> bool:
    """An http(s) URL, or a republish target whose application is checked when it is saved."""
    if url.startswith(REPUBLISH_PREFIX):
        ref = url.removeprefix(REPUBLISH_PREFIX)
        return bool(ref) and "/" not in ref and not any(c.isspace() for c in ref)
    return is_http_url(url)


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and not any(c.isspace() for c in url)
