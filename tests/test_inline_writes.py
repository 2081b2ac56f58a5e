"""``Database.run_write`` on a SQLite file runs on the event loop's thread: while another process
holds the write lock it waits without stopping the loop, then commits; a failing batch leaves
nothing behind; a lock held for longer than the busy timeout is an error, not a hang."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from hookhub.store import db as db_module
from hookhub.store.db import Database
from hookhub.store.outage import DatabaseUnavailable
from tests.support.databases import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="inline writes are SQLite's (PostgreSQL has run_sync)"
)

_NOTES = sa.table("note", sa.column("text"))


def _insert(text: str):
    def write(conn: sa.Connection) -> str:
        conn.execute(_NOTES.insert().values(text=text))
        return text

    return write


async def _database(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "inline.db"
    db = Database(f"sqlite:///{path}")
    async with db.write() as conn:
        await conn.execute(sa.text("CREATE TABLE note (text TEXT NOT NULL)"))
    return db, path


def _stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM note ORDER BY rowid")]


def test_waits_for_another_process_lock_while_the_loop_runs(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, int]:
        db, path = await _database(tmp_path)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # as another process writing would
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        write = asyncio.create_task(db.run_write(_insert("after the lock")))
        await asyncio.sleep(0.3)
        assert not write.done()
        ticks_while_locked = ticks
        other.execute("COMMIT")
        other.close()
        result = await asyncio.wait_for(write, 5)
        ticker.cancel()
        await db.close()
        return result, ticks_while_locked

    result, ticks = asyncio.run(scenario())
    assert result == "after the lock"
    assert ticks >= 20  # the loop went on (a blocking busy wait would have frozen it)
    assert _stored(tmp_path / "inline.db") == ["after the lock"]


def test_a_failing_batch_leaves_nothing_and_the_next_one_commits(tmp_path: Path) -> None:
    def half_then_fail(conn: sa.Connection) -> None:
        conn.execute(_NOTES.insert().values(text="half"))
        raise ValueError("bad row")

    async def scenario() -> None:
        db, _ = await _database(tmp_path)
        with pytest.raises(ValueError, match="bad row"):
            await db.run_write(half_then_fail)
        await db.run_write(_insert("whole"))
        await db.close()

    asyncio.run(scenario())
    assert _stored(tmp_path / "inline.db") == ["whole"]


def test_a_lock_held_past_the_busy_timeout_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_SECONDS", 0.2)

    async def scenario() -> None:
        db, path = await _database(tmp_path)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            # An outage for the caller (a 503 with Retry-After), not an error of its own.
            with pytest.raises(DatabaseUnavailable, match="locked"):
                await asyncio.wait_for(db.run_write(_insert("never")), 5)
        finally:
            other.execute("ROLLBACK")
            other.close()
        await db.close()

    asyncio.run(scenario())
    assert _stored(tmp_path / "inline.db") == []


def test_the_wal_is_checkpointed_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hookhub.store import sqlite_inline

    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_EVERY", 4)
    path = tmp_path / "inline.db"

    async def scenario() -> int:
        db, _ = await _database(tmp_path)
        before = path.stat().st_size
        for number in range(40):
            await db.run_write(_insert(f"{number:04d}" + "x" * 10_000))
        # The inline connection never checkpoints at commit: the file grows only by the thread.
        for _ in range(100):
            if path.stat().st_size > before + 200_000:
                break
            await asyncio.sleep(0.05)
        grown = path.stat().st_size - before
        await db.close()
        return grown

    assert asyncio.run(scenario()) > 200_000
    assert len(_stored(path)) == 40


def test_the_wal_starts_over_under_sustained_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits that never pause would leave a passive checkpoint always behind and the WAL growing
    without end; past ``RESTART_AFTER_FRAMES`` the thread restarts it."""
    from hookhub.store import sqlite_inline

    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_EVERY", 8)
    monkeypatch.setattr(sqlite_inline, "RESTART_AFTER_FRAMES", 100)
    wal = tmp_path / "inline.db-wal"
    row = "x" * 20_000  # five or six pages a commit

    async def scenario() -> int:
        db, _ = await _database(tmp_path)
        for number in range(600):  # about 3,500 frames, 14 MB of WAL if it never started over
            await db.run_write(_insert(f"{number:04d}{row}"))
        size = wal.stat().st_size
        await db.close()
        return size

    assert asyncio.run(scenario()) < 6_000_000
    assert len(_stored(tmp_path / "inline.db")) == 600
