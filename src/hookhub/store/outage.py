"""A database that cannot be reached is an outage, not a bug.

``Database`` translates, at its one boundary, the driver errors that mean "the database is not
there right now" (refused or lost connections, timeouts, a server shutting down or starting up,
SQLite's lock held past its busy timeout) into ``DatabaseUnavailable``: a 503 with a JSON body and
``Retry-After`` for whoever is waiting, one warning line rather than a traceback in the log.
Every other error keeps its type: a constraint or a syntax error is a bug or a conflict, and
retrying it later would not help.
"""

from __future__ import annotations

import logging
import sqlite3
import sys

import sqlalchemy.exc as sa_exc

from hookhub.errors import ServiceUnavailable, validation_error

RETRY_AFTER_SECONDS = 5

# SQLSTATE classes and codes of PostgreSQL errors that pass: connection exceptions (08),
# insufficient resources (53: too many connections, out of memory), operator intervention (57:
# shutdown, cannot connect now, statement timeout) and transaction rollbacks for serialization
# or deadlock (40001, 40P01).
_TRANSIENT_CLASSES = ("08", "53", "57")
_TRANSIENT_CODES = frozenset({"40001", "40P01"})
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o error", "unable to open")


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached right now; nothing was stored. Retry later."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def is_broken_connection(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the connection it came from can run nothing more: SQLAlchemy saw it
    disconnected, or asyncpg was left between two states when its server went away
    mid-statement ("cannot switch to state …; another operation is in progress")."""
    if exc is None:
        return False
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return any(type(error).__name__ == "InternalClientError" for error in (exc, exc.__cause__))


# PostgreSQL's "untranslatable character": text (or JSONB) holding NUL, which it cannot store.
_UNTRANSLATABLE_CHARACTER = "22P05"


def raise_if_unstorable(exc: BaseException) -> None:
    """A 422 rather than a 500 for what the caller sent and PostgreSQL cannot store (SQLite
    can): a NUL character (``\\u0000``) in a JSON string or key. Nothing was written."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        if getattr(error, "sqlstate", None) == _UNTRANSLATABLE_CHARACTER:
            raise validation_error(
                ["body"], "text may not hold the NUL character (\\u0000), in values or keys"
            ) from exc


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unreachable or overloaded (worth retrying later)."""
    if isinstance(exc, DatabaseUnavailable | sa_exc.TimeoutError):  # the pool's checkout timeout
        return True
    if is_broken_connection(exc):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return is_outage(exc.orig) if exc.orig is not None else False
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(marker in text for marker in _SQLITE_TRANSIENT)
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_CODES
    if type(exc).__name__ == "InterfaceError":  # asyncpg and its adapter: the connection is closed
        return True
    return isinstance(exc, OSError | TimeoutError)


def describe(exc: BaseException) -> str:
    """One line saying what happened, for logs and /health (no traceback, no secrets)."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    name = type(cause).__name__
    return f"{name}: {text}"[:300] if text else name


def log_failure(logger: logging.Logger, message: str, *args: object) -> None:
    """In an ``except`` block: the traceback of a bug, or for an outage a debug line only (the
    database has already warned, once for the whole outage)."""
    if isinstance(sys.exc_info()[1], DatabaseUnavailable):
        logger.debug(message, *args)
    else:
        logger.exception(message, *args)
