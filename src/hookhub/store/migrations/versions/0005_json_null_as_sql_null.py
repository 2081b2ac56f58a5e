"""absent JSON values are SQL NULL, not the JSON text null

Revision ID: 0005
Revises: 0004

Before this, SQLAlchemy wrote ``None`` in a JSON column as the JSON value ``null`` while the batch
inserts wrote SQL NULL; both read back as ``None``, but ``IS NULL`` saw only one of them.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The JSON columns that may be absent.
NULLABLE_JSON = {
    "event_type": ("schemas",),
    "endpoint": ("filter_types", "channels"),
    "message": ("channels", "tags"),
    "event": ("response",),
    "idempotency_key": ("headers",),
}


def upgrade() -> None:
    json_null = "'null'::jsonb" if op.get_bind().dialect.name == "postgresql" else "'null'"
    for table, columns in NULLABLE_JSON.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} = {json_null}")


def downgrade() -> None:
    pass  # SQL NULL reads back as None under either rule
