"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from hookhub.store.types import Json, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("uid", sa.String(length=256), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("throttle_rate", sa.Integer(), nullable=True),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_table(
        "event_type",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        sa.Column("schemas", Json, nullable=True),
        sa.Column("feature_flag", sa.String(length=256), nullable=True),
        sa.Column("group_name", sa.String(length=256), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("scope_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("headers", Json, nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope_key"),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("uid", sa.String(length=256), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("ingest_key", sa.String(length=64), nullable=False),
        sa.Column("previous_ingest_key", sa.String(length=64), nullable=True),
        sa.Column("previous_ingest_key_expires_at", UtcDateTime(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("config", Json, nullable=False),
        sa.Column("settings", Json, nullable=False),
        sa.Column("auth_token_hash", sa.String(length=64), nullable=True),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ingest_key"),
        sa.UniqueConstraint("previous_ingest_key"),
        sa.UniqueConstraint("uid"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["app_id"], ["application.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "endpoint",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("source_id", sa.String(length=40), nullable=True),
        sa.Column("uid", sa.String(length=256), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("filter_types", Json, nullable=True),
        sa.Column("channels", Json, nullable=True),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("headers", Json, nullable=False),
        sa.Column("throttle_rate", sa.Integer(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secrets", Json, nullable=False),
        sa.Column("failing_since", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("(app_id IS NULL) <> (source_id IS NULL)", name="endpoint_has_one_owner"),
        sa.ForeignKeyConstraint(["app_id"], ["application.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id", "uid"),
        sa.UniqueConstraint("source_id", "uid"),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("headers", Json, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("event_type", sa.String(length=256), nullable=True),
        sa.Column("route_key", sa.Text(), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("reply_id", sa.String(length=64), nullable=True),
        sa.Column("response", Json, nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("event_source_id", ["source_id", "id"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=256), nullable=True),
        sa.Column("event_type", sa.String(length=256), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("channels", Json, nullable=True),
        sa.Column("tags", Json, nullable=True),
        sa.Column("deliver_at", UtcDateTime(), nullable=True),
        sa.Column("payload_expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["application.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id", "event_id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("message_app_created", ["app_id", "id"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("trigger_type", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("(message_id IS NULL) <> (event_id IS NULL)", name="delivery_has_one_subject"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("delivery_endpoint", ["endpoint_id", "id"], unique=False)
        batch_op.create_index("delivery_event", ["event_id"], unique=False)
        batch_op.create_index("delivery_message", ["message_id"], unique=False)

    op.create_table(
        "attempt",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("response_status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("response_duration_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("trigger_type", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.create_index("attempt_endpoint", ["endpoint_id", "id"], unique=False)
        batch_op.create_index("attempt_event", ["event_id", "id"], unique=False)
        batch_op.create_index("attempt_message", ["message_id", "id"], unique=False)

    op.create_table(
        "endpoint_throttle",
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("endpoint_id"),
    )


def downgrade() -> None:
    op.drop_table("endpoint_throttle")
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_index("attempt_message")
        batch_op.drop_index("attempt_event")
        batch_op.drop_index("attempt_endpoint")

    op.drop_table("attempt")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("delivery_message")
        batch_op.drop_index("delivery_event")
        batch_op.drop_index("delivery_endpoint")
        batch_op.drop_index("delivery_due")

    op.drop_table("delivery")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("message_app_created")

    op.drop_table("message")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("event_source_id")

    op.drop_table("event")
    op.drop_table("endpoint")
    op.drop_table("api_token")
    op.drop_table("source")
    op.drop_table("idempotency_key")
    op.drop_table("event_type")
    op.drop_table("application")
