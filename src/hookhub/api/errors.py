"""Exception handlers that turn every API error into ``{"code", "detail"}`` JSON.

Installed on the FastAPI app and on the dashboard's Starlette app alike. An unexpected exception
becomes a ``500 {"code": "internal_error"}``; the framework re-raises it afterwards and the
outermost layer (``http/server_errors.py``) logs it.
"""

from __future__ import annotations

import orjson
from fastapi.exceptions import RequestValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from hookhub.api.content_type import is_json_type
from hookhub.errors import HookhubError, InternalError, UnsupportedMediaType

_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_failed",
    403: "insufficient_access",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
}

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


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


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "Entity not found"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return _json(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), detail, headers)


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path. (Starlette names only those of the first
    route that matched the path, and FastAPI makes one route per method.)"""
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _internal_error(_request: Request, _exc: Exception) -> Response:
    error = InternalError()
    return _json(error.status, error.code, error.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    # ``loc`` items are strings, as in Svix's schema (a list index too): typed SDKs parse them.
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type")
    if not is_json_type(content_type) and any(
        tuple(err.get("loc", ()))[:1] == ("body",) for err in exc.errors()
    ):
        # FastAPI hands a body of another declared type to validation as bytes; say why instead.
        error = UnsupportedMediaType(
            f"The body must be JSON: send Content-Type: application/json (got {str(content_type)[:100]!r})."
        )
        return _json(error.status, error.code, error.detail)
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    if any(err["type"] == "json_invalid" for err in errors):
        return _json(400, "bad_request", "Malformed JSON body: " + "; ".join(e["msg"] for e in errors))
    return _json(422, "validation", errors)


def install_error_handlers(app: Starlette) -> None:
    app.add_exception_handler(HookhubError, _hookhub_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
