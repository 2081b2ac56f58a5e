"""background tasks (recover, replays, purges) are rows that a worker runs and a restart resumes

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import Json, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "background_task",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("app_id", sa.String(40), nullable=True),
        sa.Column("params", Json, nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("cursor", sa.String(64), nullable=True),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("background_task_status", "background_task", ["status", "id"])


def downgrade() -> None:
    op.drop_index("background_task_status", table_name="background_task")
    op.drop_table("background_task")
