"""Runs the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# PostgreSQL advisory lock taken around migrations: processes starting together take turns.
MIGRATION_LOCK = 0x686F6F6B  # "hook"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: sa.Connection) -> None:
    """Apply what is missing under a lock (PostgreSQL: an advisory lock; SQLite: its write lock),
    so that processes starting at the same time migrate one after the other (the later ones
    find nothing left to do)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    else:  # the transaction begins here, taking SQLite's write lock (Database.migrate asks for it)
        connection.execute(sa.text("SELECT 1"))
    command.upgrade(alembic_config(connection), "head")
