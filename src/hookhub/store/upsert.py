"""INSERT … ON CONFLICT DO NOTHING for either backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(table: sa.Table, dialect: str) -> sa.Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def upsert(
    table: sa.Table, dialect: str, values: dict[str, Any], key: tuple[str, ...], update: dict[str, Any]
) -> sa.Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE SET update (``update`` may refer to the stored row)."""
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.values(**values).on_conflict_do_update(index_elements=list(key), set_=update)
