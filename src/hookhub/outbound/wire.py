"""Small helpers for the outbound routes: orjson responses, body parsing, common field rules."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from hookhub.api.content_type import refuse_non_json
from hookhub.delivery.ssrf import destination_url
from hookhub.errors import BadRequest, ValidationFailed

M = TypeVar("M", bound=BaseModel)

NO_CONTENT = 204


def json_response(data: Any, status_code: int = 200) -> Response:
    """Serialise once with orjson; skips FastAPI's response_model pass."""
    return Response(dumps(data), status_code=status_code, media_type="application/json")


def dumps(data: Any) -> bytes:
    """orjson's JSON; the standard library's for the rare document orjson refuses: JSON stored
    before the API refused integers beyond 64 bits (``api.models.JsonObject``) still reads back."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data, default=_isoformat, separators=(",", ":"), ensure_ascii=False).encode()


def _isoformat(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # what orjson writes for an aware datetime
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def no_content() -> Response:
    return Response(status_code=NO_CONTENT)


def validation_from(exc: ValidationError, prefix: tuple[str | int, ...] = ("body",)) -> ValidationFailed:
    return ValidationFailed(
        [
            {"loc": [str(part) for part in (*prefix, *err["loc"])], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors()
        ]
    )


async def parse_body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body by hand (used on hot paths instead of a FastAPI body param)."""
    refuse_non_json(request.headers.get("content-type"))
    return parse_json(await request.body(), model)


def parse_json(raw: bytes, model: type[M]) -> M:
    """Malformed JSON is a 400; a body that does not fit ``model`` a 422 with ``loc`` under body.

    pydantic parses and validates in one pass and keeps integers of any size exact. Its parser
    also takes ``NaN`` and ``Infinity``, which are not JSON: a body that spells either anywhere
    goes through the standard library's parser, told to refuse them.
    """
    try:
        if b"NaN" in raw or b"Infinity" in raw:
            return model.model_validate(_strict_loads(raw))
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise BadRequest(f"Malformed JSON body: {first['msg']}") from None
        raise validation_from(exc) from None


def _strict_loads(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


URL_RULE = (
    "must be an absolute http:// or https:// URL with a host "
    "(or, for a source's destination, hookhub://app/{app id or uid})"
)
REPUBLISH_PREFIX = "hookhub://app/"  # a source destination that republishes to an application


def check_endpoint_url(url: str) -> str:
    """``url`` if it is a valid endpoint URL whose host the HTTP client can read, else ValueError."""
    if not is_endpoint_url(url):
        raise ValueError(URL_RULE)
    if not url.startswith(REPUBLISH_PREFIX):
        destination_url(url)  # a host that does not survive IDNA normalisation: ValueError
    return url


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
