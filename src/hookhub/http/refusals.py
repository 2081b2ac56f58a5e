"""The HTTP layer's own answers when a client oversteps the ``ConnectionLimits``: JSON
``{code, detail}`` like every hookhub error, after which the connection closes."""

from __future__ import annotations

from hookhub.errors import BadRequest, HeadTooLarge, HookhubError, RequestTimeout, ServiceUnavailable
from hookhub.http.exchange import closing_answer


def refusal(error: HookhubError) -> bytes:
    return closing_answer(error.status, error.body(), b"application/json")


def head_too_large(limit: int) -> bytes:
    return refusal(HeadTooLarge(f"The request line and headers are larger than {limit} bytes."))


# What httptools cannot parse: smuggling vectors (Content-Length with Transfer-Encoding, duplicate
# or signed lengths, obfuscated codings, chunk sizes that overflow, bare LF line ends), and garbage.
BAD_REQUEST = refusal(BadRequest("Invalid HTTP request received."))
HEAD_TIMEOUT = refusal(RequestTimeout("The request's head did not arrive in time."))
BODY_TIMEOUT = refusal(RequestTimeout("The request's body stopped arriving."))
TOO_MANY_CONNECTIONS = refusal(ServiceUnavailable("Too many connections; retry later."))
