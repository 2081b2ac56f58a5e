"""operational webhooks are queued in the database until the operator's URL takes them

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operational_webhook",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("operational_webhook_due", "operational_webhook", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("operational_webhook_due", table_name="operational_webhook")
    op.drop_table("operational_webhook")
