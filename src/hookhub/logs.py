"""Logging for ``serve`` and ``worker``: one stream (stderr), as text or as JSON lines.

``HOOKHUB_LOG_FORMAT=json`` writes one JSON object per line (``time``, ``level``, ``logger``,
``message``, ``exception`` when there is one, and the request fields of uvicorn's access log), for
log shippers. The same configuration covers hookhub's loggers and uvicorn's.

Request targets are logged with their capabilities redacted (``RedactSecrets``): the ingest key
of ``/webhook/{key}`` and ``/listen/{key}``, the reply id of ``/ingest/api/v1/reply/{id}``, and
query parameters that carry secrets (``?secret=``, ``?token=`` …).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# uvicorn's access records carry these as their arguments.
_ACCESS_FIELDS = ("client", "method", "path", "httpVersion", "status")
_WEBSOCKET_LINE = '%s - "WebSocket %s"'  # how uvicorn logs a WebSocket handshake (uvicorn.error)

REDACTED = "***"
# The path segment that is itself a capability: whoever knows it may post, listen or reply.
_SECRET_SEGMENT = re.compile(r"^(/(?:webhook|listen|ingest/api/v1/reply)/)[^/?]+")
_SECRET_PARAM = re.compile(
    r"([?&](?:[^=&]*(?:secret|token|passw|signature|api[-_]?key|auth|credential|session)[^=&]*"
    r"|sig|code|verify)=)[^&#]*",
    re.IGNORECASE,
)


def redact_target(target: str) -> str:
    """A request path (with its query) fit for a log: capabilities and secrets replaced."""
    target = _SECRET_SEGMENT.sub(r"\g<1>" + REDACTED, target, count=1)
    if "?" in target:
        target = _SECRET_PARAM.sub(r"\g<1>" + REDACTED, target)
    return target


class RedactSecrets(logging.Filter):
    """Redacts the request target of uvicorn's access lines and WebSocket handshake lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        if record.name == "uvicorn.access" and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        elif (
            isinstance(record.msg, str)
            and record.msg.startswith(_WEBSOCKET_LINE)
            and len(args) >= 2
            and isinstance(args[1], str)
        ):
            record.args = (args[0], redact_target(args[1]), *args[2:])
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def config(level: str, log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (uvicorn takes it as ``log_config``)."""
    formatter: dict[str, Any] = (
        {"()": "hookhub.logs.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "filters": ["redact"],
        "stream": "ext://sys.stderr",
    }
    own = {"handlers": ["main"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {"redact": {"()": "hookhub.logs.RedactSecrets"}},
        "handlers": {"main": handler},
        "root": {"handlers": ["main"], "level": level.upper()},
        "loggers": {"uvicorn": own, "uvicorn.access": own},
    }
