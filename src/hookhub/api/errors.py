"""Exception handlers that turn every API error into ``{"code", "detail"}`` JSON."""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookhub.errors import HookhubError

_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_failed",
    403: "insufficient_access",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation",
    429: "rate_limited",
}


def _json(status: int, code: str, detail: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps({"code": code, "detail": detail}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def _hookhub_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HookhubError)
    return _json(exc.status, exc.code, exc.detail, exc.headers)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "Entity not found"
    return _json(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), detail, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]
    if any(err["type"] == "json_invalid" for err in errors):
        return _json(400, "bad_request", "Malformed JSON body: " + "; ".join(e["msg"] for e in errors))
    return _json(422, "validation", errors)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HookhubError, _hookhub_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
