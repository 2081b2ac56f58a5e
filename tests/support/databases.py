"""Test databases: a SQLite file per server, or a fresh PostgreSQL database per server.

``HOOKHUB_TEST_DB=postgresql`` selects PostgreSQL (``HOOKHUB_TEST_PG``, default
``postgresql://postgres@127.0.0.1:5432/test``, is used to create and drop the databases).
When PostgreSQL is selected but unreachable the run fails; it never silently skips.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
import uuid
from pathlib import Path

import asyncpg
import sqlalchemy as sa

BACKEND = os.environ.get("HOOKHUB_TEST_DB", "sqlite")
ADMIN_URL = os.environ.get("HOOKHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL was selected for the tests but cannot be reached."""


def _run(coro):
    """Run ``coro`` to the end, also from a thread whose event loop is running (a Playwright page
    or an async test set up first): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise PostgresUnavailable(f"PostgreSQL expected at {ADMIN_URL} but unreachable: {exc}") from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(tmp_dir: Path) -> str:
    """A URL to a new, empty database of the selected backend."""
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_dir / f'hookhub-{uuid.uuid4().hex[:8]}.db'}"
    if BACKEND != "postgresql":
        raise ValueError(f"HOOKHUB_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    name = f"hookhub_t_{uuid.uuid4().hex[:12]}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    return _with_database(ADMIN_URL, name)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = url.rpartition("/")[2]
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_sql(url: str, *statements: str) -> None:
    """Run SQL statements on a server's database behind its back (data an older version wrote,
    a deliberately broken table …), on either backend."""
    if url.startswith("sqlite"):
        with sqlite3.connect(sa.make_url(url).database) as conn:
            for statement in statements:
                conn.execute(statement)
        return

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    _run(run())
