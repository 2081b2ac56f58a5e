"""On SQLite an accepted write is on disk before it is answered (fsync), unless the operator chose
the faster mode, which only survives the process being killed.

The fsyncs are observed, not faked: ``os.fsync`` is wrapped to note which file each call synced
(and then does it), and the database is a real file.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from hookhub.store.db import Database


def _writes_and_syncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, durable: bool
) -> dict[str, list[str]]:
    """Several concurrent batches; the files fsynced before each returned."""
    synced: list[str] = []
    real_fsync = os.fsync

    def noting_fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", noting_fsync)
    seen: dict[str, list[str]] = {}

    async def run() -> None:
        db = Database(f"sqlite:///{tmp_path / 'durable.db'}", durable=durable)
        try:
            async with db.write() as conn:
                await conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
            synced.clear()

            async def batch(n: int) -> list[str]:
                await db.run_write(lambda conn: conn.exec_driver_sql(f"INSERT INTO t VALUES ({n})"))
                return list(synced)

            for n, files in enumerate(await asyncio.gather(*(batch(n) for n in range(8)))):
                seen[f"batch {n}"] = files
            async with db.read() as conn:
                seen["synchronous"] = [str(await conn.scalar(sa.text("PRAGMA synchronous")))]
        finally:
            await db.close()

    asyncio.run(run())
    return seen


def test_a_write_is_answered_after_its_fsync(tmp_path, monkeypatch):
    seen = _writes_and_syncs(tmp_path, monkeypatch, durable=True)
    wal = str(tmp_path / "durable.db-wal")
    # Every group-committed batch returned only after an fsync of the WAL (one fsync may cover
    # several batches: it covers every commit made before it started).
    for n in range(8):
        assert wal in seen[f"batch {n}"], seen
    # The API's own connections commit with synchronous=FULL: SQLite fsyncs at each commit itself
    # (inside the library, where the wrapper does not see it).
    assert seen["synchronous"] == ["2"]


def test_the_fast_mode_answers_without_waiting_for_the_disk(tmp_path, monkeypatch):
    seen = _writes_and_syncs(tmp_path, monkeypatch, durable=False)
    wal = str(tmp_path / "durable.db-wal")
    assert all(wal not in seen[f"batch {n}"] for n in range(8)), seen
    assert seen["synchronous"] == ["1"]
