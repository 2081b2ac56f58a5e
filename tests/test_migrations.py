"""The migrations, applied in order to an empty database, produce exactly the declared schema."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hookhub.store.db import Database
from hookhub.store.tables import metadata


def _diff(database_url: str) -> list[object]:
    async def run() -> list[object]:
        db = Database(database_url)
        try:
            await db.migrate()
            async with db.engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
                )
        finally:
            await db.close()

    return asyncio.run(run())


def test_migrations_match_tables(make_database: Callable[[], str]) -> None:
    assert _diff(make_database()) == []


def test_migrating_twice_is_a_no_op(make_database: Callable[[], str]) -> None:
    url = make_database()
    _diff(url)
    assert _diff(url) == []


def test_delivery_subject_indexes_are_partial(make_database: Callable[[], str]) -> None:
    """Each of delivery_message / delivery_event skips the rows of the other kind (NULL there)."""

    async def definitions(database_url: str) -> dict[str, str]:
        db = Database(database_url)
        try:
            await db.migrate()
            async with db.engine.connect() as conn:
                if db.is_sqlite:
                    query = (
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'delivery'"
                    )
                else:
                    query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'delivery'"
                rows = (await conn.exec_driver_sql(query)).all()
                return {name: (sql or "") for name, sql in rows}
        finally:
            await db.close()

    found = asyncio.run(definitions(make_database()))
    assert (
        "WHERE" in found["delivery_message"].upper() and "message_id IS NOT NULL" in found["delivery_message"]
    )
    assert "WHERE" in found["delivery_event"].upper() and "event_id IS NOT NULL" in found["delivery_event"]
    assert "WHERE" not in found["delivery_due"].upper()


def test_0003_hashes_basic_auth_passwords_written_in_plain_text(make_database: Callable[[], str]) -> None:
    """A source saved before 0003 (password in plain text) keeps working, without the plain text."""
    from alembic import command

    from hookhub.inbound.compiled import compile_source
    from hookhub.store.migrate import alembic_config
    from hookhub.store.tables import source

    plain = {"auth": {"type": "basic", "username": "losant", "password": "pa55-word"}}

    async def run(database_url: str) -> tuple[dict, object, str]:
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0002"))
                now = datetime.now(UTC)
                await conn.execute(
                    source.insert().values(
                        id="src_plain",
                        name="old",
                        ingest_key="k-plain",
                        type="http",
                        config={},
                        settings=plain,
                        metadata={},
                        created_at=now,
                        updated_at=now,
                    )
                )
                await conn.commit()
            await db.migrate()
            async with db.read() as conn:
                row = (await conn.execute(sa.select(source).where(source.c.id == "src_plain"))).one()
            return row.settings, compile_source(row, 30).auth, row.relay_secret
        finally:
            await db.close()

    settings, auth, relay_secret = asyncio.run(run(make_database()))
    assert relay_secret.startswith("whsec_")  # 0013: sources from before get a relay secret
    assert "password" not in settings["auth"]
    assert settings["auth"]["passwordHash"] == hashlib.sha256(b"pa55-word").hexdigest()
    good = "Basic " + base64.b64encode(b"losant:pa55-word").decode()
    bad = "Basic " + base64.b64encode(b"losant:wrong").decode()
    assert auth.failure({"authorization": good}) is None
    assert auth.failure({"authorization": bad}) is not None


def test_absent_json_values_are_sql_null(make_database: Callable[[], str]) -> None:
    """0005 turns the JSON text ``null`` older versions wrote into SQL NULL, and ``None`` is
    written as SQL NULL from then on: ``IS NULL`` finds both rows."""
    from alembic import command

    from hookhub.store.migrate import alembic_config
    from hookhub.store.tables import application, message

    async def run(database_url: str) -> tuple[list[str], list[str]]:
        db = Database(database_url)
        try:
            now = datetime.now(UTC)
            async with db.engine.connect() as conn:
                await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0004"))
                await conn.execute(
                    application.insert().values(
                        id="app_nulls", name="nulls", metadata={}, created_at=now, updated_at=now
                    )
                )
                json_null = "'null'::jsonb" if conn.dialect.name == "postgresql" else "'null'"
                await conn.execute(
                    sa.text(
                        "INSERT INTO message (id, app_id, event_type, channels, tags, created_at) "
                        f"VALUES ('msg_old', 'app_nulls', 'a.b', {json_null}, {json_null}, :now)"
                    ),
                    {"now": now.replace(tzinfo=None)},
                )
                await conn.commit()
            await db.migrate()
            async with db.write() as conn:
                await conn.execute(
                    message.insert().values(
                        id="msg_new",
                        app_id="app_nulls",
                        event_type="a.b",
                        channels=None,
                        tags=None,
                        created_at=now,
                    )
                )
            async with db.read() as conn:
                no_channels = await conn.scalars(
                    sa.select(message.c.id).where(message.c.channels.is_(None)).order_by(message.c.id)
                )
                no_tags = await conn.scalars(
                    sa.select(message.c.id).where(message.c.tags.is_(None)).order_by(message.c.id)
                )
                return list(no_channels), list(no_tags)
        finally:
            await db.close()

    assert asyncio.run(run(make_database())) == (["msg_new", "msg_old"], ["msg_new", "msg_old"])


def test_processes_starting_together_migrate_one_after_the_other(make_database: Callable[[], str]) -> None:
    """Nodes of a new deployment start at the same moment: each migrates at start, none fails or
    hangs (PostgreSQL: an advisory lock makes them take turns; SQLite: its write lock)."""
    url = make_database()
    script = "import asyncio, sys\nfrom hookhub.store.db import Database\n" + (
        "async def main():\n    db = Database(sys.argv[1])\n    await db.migrate()\n    await db.close()\n"
        "asyncio.run(main())\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, url]) for _ in range(4)]
    assert [process.wait(timeout=120) for process in processes] == [0, 0, 0, 0]
    assert _diff(url) == []
