"""A fresh database per backend: a temporary SQLite file, or a new PostgreSQL database dropped after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


async def _admin(sql: str, admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(backend: str, workdir: Path, pg_admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"hookhub_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"', pg_admin_url))
    try:
        yield f"{pg_admin_url.rpartition('/')[0]}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', pg_admin_url))
