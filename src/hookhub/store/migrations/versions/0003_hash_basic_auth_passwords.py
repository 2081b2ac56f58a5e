"""basic-auth passwords of sources are stored as their sha256, not in plain text

Revision ID: 0003
Revises: 0002
"""

import hashlib

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import Json

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_source = sa.table("source", sa.column("id", sa.String), sa.column("settings", Json))


def upgrade() -> None:
    conn = op.get_bind()
    for source_id, settings in conn.execute(sa.select(_source.c.id, _source.c.settings)).all():
        auth = (settings or {}).get("auth") or {}
        if auth.get("type") != "basic" or "password" not in auth:
            continue
        password = auth.pop("password") or ""
        auth["passwordHash"] = hashlib.sha256(password.encode()).hexdigest()
        conn.execute(
            _source.update().where(_source.c.id == source_id).values(settings={**settings, "auth": auth})
        )


def downgrade() -> None:
    """The passwords cannot be recovered from their hashes; sources keep working either way."""
