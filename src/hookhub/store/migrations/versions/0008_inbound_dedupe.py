"""inbound de-duplication: the keys of recent deliveries per source, and a duplicates count per event

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_dedupe",
        sa.Column(
            "source_id", sa.String(40), sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("event_dedupe_expires", "event_dedupe", ["expires_at"])
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("duplicates", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("duplicates")
    op.drop_index("event_dedupe_expires", table_name="event_dedupe")
    op.drop_table("event_dedupe")
