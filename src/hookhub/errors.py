"""API errors. Each answers as JSON ``{"code": …, "detail": …}`` with its HTTP status.

HookhubError
├── BadRequest          400 bad_request
│   └── MissingPayload  400 missing_payload (a message whose payload was deleted cannot be sent again)
├── Unauthorized        401 authentication_failed
├── Forbidden           403 insufficient_access
├── NotFound            404 not_found
├── MethodNotAllowed    405 method_not_allowed
├── RequestTimeout      408 request_timeout (from the HTTP layer)
├── Conflict            409 conflict
├── PayloadTooLarge     413 payload_too_large
├── UnsupportedMediaType 415 unsupported_media_type (a body that is not declared as JSON)
├── ValidationFailed    422 validation (detail is a list of {loc, msg, type})
├── TransformationFailed 422 transformation_failed (the JavaScript error)
├── RateLimited         429 rate_limited
├── HeadTooLarge        431 head_too_large (from the HTTP layer)
├── InternalError       500 internal_error (an unexpected exception; the server logs it)
└── ServiceUnavailable  503 unavailable
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson


class HookhubError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "server_error"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail if detail is not None else (self.__doc__ or "").strip()
        self.headers = headers or {}
        super().__init__(self.detail)

    def body(self) -> bytes:
        return orjson.dumps({"code": self.code, "detail": self.detail})


class BadRequest(HookhubError):
    """The request is malformed."""

    status, code = 400, "bad_request"


class TransformationFailed(HookhubError):
    """The transformation failed."""

    status, code = 422, "transformation_failed"


class MissingPayload(BadRequest):
    """The message's payload has been deleted or has expired: it cannot be sent again."""

    code = "missing_payload"


class Unauthorized(HookhubError):
    """Invalid or missing credentials."""

    status, code = 401, "authentication_failed"


class Forbidden(HookhubError):
    """The credentials do not give access to this resource."""

    status, code = 403, "insufficient_access"


class NotFound(HookhubError):
    """Entity not found."""

    status, code = 404, "not_found"


class MethodNotAllowed(HookhubError):
    """Method not allowed."""

    status, code = 405, "method_not_allowed"


class RequestTimeout(HookhubError):
    """The request did not arrive in time."""

    status, code = 408, "request_timeout"


class Conflict(HookhubError):
    """The entity already exists or conflicts with the current state."""

    status, code = 409, "conflict"


class PayloadTooLarge(HookhubError):
    """The request body is larger than the allowed limit."""

    status, code = 413, "payload_too_large"


class UnsupportedMediaType(HookhubError):
    """The request body must be JSON: send it with Content-Type: application/json (or none)."""

    status, code = 415, "unsupported_media_type"


class ValidationFailed(HookhubError):
    """The request body failed validation."""

    status, code = 422, "validation"


class RateLimited(HookhubError):
    """Over rate limit, request throttled."""

    status, code = 429, "rate_limited"


class HeadTooLarge(HookhubError):
    """The request line and headers are larger than the allowed limit."""

    status, code = 431, "head_too_large"


class InternalError(HookhubError):
    """The server could not answer this request; the error has been logged."""

    status, code = 500, "internal_error"


class ServiceUnavailable(HookhubError):
    """The service is temporarily unavailable."""

    status, code = 503, "unavailable"


def validation_error(loc: list[str | int], msg: str, type_: str = "value_error") -> ValidationFailed:
    return ValidationFailed([{"loc": [str(part) for part in loc], "msg": msg, "type": type_}])
