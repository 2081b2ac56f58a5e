"""SQLite fast path of the group commit: a whole batch of events in one thread hop.

Through SQLAlchemy + aiosqlite a batch costs half a dozen hand-offs between the event loop and the
driver thread; here the batch runs start to commit inside one call on a dedicated thread with the
stdlib driver, storing exactly what SQLAlchemy would (same text for datetimes and JSON). Batches
whose sources have destinations are left to the regular path (``enqueue_for_event``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson

COLUMNS = (
    "id",
    "source_id",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "event_type",
    "route_key",
    "source_ip",
    "reply_id",
    "response",
    "received_at",
    "expires_at",
)
_INSERT = f"INSERT INTO event ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _params(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["id"],
        row["source_id"],
        row["method"],
        row["path"],
        row["query"],
        orjson.dumps(row["headers"]).decode(),
        row["body"],
        row["event_type"],
        row["route_key"],
        row["source_ip"],
        row["reply_id"],
        orjson.dumps(row["response"]).decode(),
        _stamp(row["received_at"]),
        _stamp(row["expires_at"]),
    )


class SqliteBatchWriter:
    def __init__(self, path: str) -> None:
        self._path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def commit(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert and commit ``rows``; if some of their sources have destinations, write nothing
        and return those source ids (the caller then uses the regular path)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookhub-event-writer")
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._commit, rows)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        return self._conn

    def _commit(self, rows: list[dict[str, Any]]) -> set[str]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            with_endpoints = _sources_with_endpoints(conn, {row["source_id"] for row in rows})
            if not with_endpoints:
                conn.executemany(_INSERT, [_params(row) for row in rows])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("ROLLBACK" if with_endpoints else "COMMIT")
        return with_endpoints

    async def close(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        if self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, close)
            self._executor.shutdown(wait=False)
            self._executor = None


def _sources_with_endpoints(conn: sqlite3.Connection, source_ids: Iterable[str]) -> set[str]:
    ids = list(source_ids)
    marks = ", ".join("?" * len(ids))
    query = f"SELECT DISTINCT source_id FROM endpoint WHERE source_id IN ({marks})"
    return {row[0] for row in conn.execute(query, ids)}


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///…`` URL, or None (memory databases use the regular path)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return path if path and path != ":memory:" else None
