"""What a connecting listener asks for: its credentials, routing keys and resume point."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from hookhub.errors import BadRequest, NotFound, Unauthorized
from hookhub.http.dispatch import Scope
from hookhub.relay.replay import valid_since
from hookhub.relay.sources import SourceInfo


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    keys: tuple[str, ...]
    since: str | None


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def accept_listener(source: SourceInfo | None, scope: Scope) -> ConnectRequest:
    """Check the listen secret (``?secret=`` or ``Authorization: Bearer``) and read the options.

    Raises NotFound, Unauthorized or BadRequest.
    """
    if source is None:
        raise NotFound("No source has this key.")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    given = (query.get("secret") or [None])[-1]
    authorization = header(scope, b"authorization")
    if given is None and authorization and authorization[:7].lower() == "bearer ":
        given = authorization[7:].strip()
    if not source.secret_matches(given):
        raise Unauthorized("This source needs its listen secret (?secret= or Authorization: Bearer).")
    try:
        since = valid_since((query.get("since") or [None])[-1])
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if since is None:
        # An EventSource resends the last id it saw; one it cannot use is no reason to fail.
        try:
            since = valid_since(header(scope, b"last-event-id"))
        except ValueError:
            since = None
    keys = tuple(key for key in query.get("key", ()) if key)
    return ConnectRequest(keys=keys, since=since)
