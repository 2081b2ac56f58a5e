"""All tables, as SQLAlchemy Core metadata.

The migrations in ``migrations/versions`` must produce exactly this schema
(``tests/test_migrations.py`` checks it).
"""

from __future__ import annotations

import sqlalchemy as sa

from hookhub.store.secrets import EncryptedBytes, EncryptedJson, EncryptedText
from hookhub.store.types import Json, UtcDateTime

metadata = sa.MetaData()

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    # NULL for org-wide tokens; an application id for app-scoped (portal) tokens.
    sa.Column("app_id", sa.String(40), sa.ForeignKey("application.id", ondelete="CASCADE")),
    sa.Column("description", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    # A read-only portal link: reads everything its application has, changes nothing.
    sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()),
)

application = sa.Table(
    "application",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("uid", sa.String(256), unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("throttle_rate", sa.Integer),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

event_type = sa.Table(
    "event_type",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("deprecated", sa.Boolean, nullable=False),
    sa.Column("schemas", Json),
    sa.Column("feature_flag", sa.String(256)),
    sa.Column("group_name", sa.String(256)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

source = sa.Table(
    "source",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("uid", sa.String(256), unique=True),
    sa.Column("name", sa.Text, nullable=False),
    # The unguessable key in /webhook/{key}; rotating it moves the old one to previous_key.
    sa.Column("ingest_key", sa.String(64), nullable=False, unique=True),
    sa.Column("previous_ingest_key", sa.String(64), unique=True),
    sa.Column("previous_ingest_key_expires_at", UtcDateTime),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("config", EncryptedJson, nullable=False),  # provider and its secret
    sa.Column("settings", Json, nullable=False),
    # sha256 of the bearer/header auth token; the token itself is shown once.
    sa.Column("auth_token_hash", sa.String(64)),
    sa.Column("metadata", Json, nullable=False),
    # hookhub's own Standard Webhooks key for what it relays to listeners (relay/signature.py).
    sa.Column("relay_secret", EncryptedText),
    sa.Column("previous_relay_secrets", EncryptedJson),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Endpoints belong to an outbound application or to an inbound source (its destinations).
endpoint = sa.Table(
    "endpoint",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("application.id", ondelete="CASCADE")),
    sa.Column("source_id", sa.String(40), sa.ForeignKey("source.id", ondelete="CASCADE")),
    sa.Column("uid", sa.String(256)),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("filter_types", Json),
    sa.Column("channels", Json),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("headers", EncryptedJson, nullable=False),  # may carry credentials for the receiver
    sa.Column("throttle_rate", sa.Integer),
    # A content filter (routing/filters.py) and a JavaScript transformation (routing/transformations.py).
    sa.Column("filter", Json),
    sa.Column("transformation", sa.Text),
    sa.Column("transformation_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # Deliveries in flight at once at most (maxInFlight); copied to endpoint_flow, which the claim reads.
    sa.Column("max_in_flight", sa.Integer),
    # Current signing secret (whsec_…) and the previous ones still valid: [{"key", "expiresAt"}].
    sa.Column("secret", EncryptedText, nullable=False),
    sa.Column("previous_secrets", EncryptedJson, nullable=False),
    # Set at the first failure of a streak, cleared on success; drives auto-disable.
    sa.Column("failing_since", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("app_id", "uid"),
    sa.UniqueConstraint("source_id", "uid"),
    sa.CheckConstraint("(app_id IS NULL) <> (source_id IS NULL)", name="endpoint_has_one_owner"),
)

message = sa.Table(
    "message",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("app_id", sa.String(40), sa.ForeignKey("application.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_id", sa.String(256)),
    sa.Column("event_type", sa.String(256), nullable=False),
    # The JSON payload exactly as it is sent (serialised once at create); NULL once expunged.
    sa.Column("payload", sa.Text),
    sa.Column("channels", Json),
    sa.Column("tags", Json),
    sa.Column("deliver_at", UtcDateTime),
    sa.Column("payload_expires_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("app_id", "event_id"),
)
sa.Index("message_app_created", message.c.app_id, message.c.id)

# An inbound request accepted by a source.
event = sa.Table(
    "event",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("source_id", sa.String(40), sa.ForeignKey("source.id", ondelete="CASCADE"), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("headers", Json, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("event_type", sa.String(256)),
    sa.Column("route_key", sa.Text),
    sa.Column("source_ip", sa.String(64)),
    sa.Column("reply_id", sa.String(64)),
    # The response the original caller got: {"status", "headers", "body"}.
    sa.Column("response", Json),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    # How many times its provider delivered it again and was answered with this event (dedupe).
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
)
sa.Index("event_source_id", event.c.source_id, event.c.id)

# The delivery queue: one row per (message or event) x endpoint.
delivery = sa.Table(
    "delivery",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("endpoint_id", sa.String(40), sa.ForeignKey("endpoint.id", ondelete="CASCADE"), nullable=False),
    sa.Column("message_id", sa.String(40), sa.ForeignKey("message.id", ondelete="CASCADE")),
    sa.Column("event_id", sa.String(40), sa.ForeignKey("event.id", ondelete="CASCADE")),
    # pending | sending | success | failed | filtered (the endpoint's filter refused the event)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempt_count", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime),
    sa.Column("lease_expires_at", UtcDateTime),
    sa.Column("worker_id", sa.String(64)),
    # 0 scheduled, 1 manual (resend / recover / replay): copied onto this delivery's attempts.
    sa.Column("trigger_type", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("(message_id IS NULL) <> (event_id IS NULL)", name="delivery_has_one_subject"),
)
sa.Index("delivery_due", delivery.c.status, delivery.c.next_attempt_at)
# Partial: a delivery has a message or an event, never both (the other column is NULL).
_HAS_MESSAGE = delivery.c.message_id.isnot(None)
_HAS_EVENT = delivery.c.event_id.isnot(None)
sa.Index("delivery_message", delivery.c.message_id, sqlite_where=_HAS_MESSAGE, postgresql_where=_HAS_MESSAGE)
sa.Index("delivery_event", delivery.c.event_id, sqlite_where=_HAS_EVENT, postgresql_where=_HAS_EVENT)
sa.Index("delivery_endpoint", delivery.c.endpoint_id, delivery.c.id)
# Flow control (delivery/flow.py) claims a controlled endpoint's due rows through this one.
_PENDING = delivery.c.status == "pending"
sa.Index(
    "delivery_endpoint_pending",
    delivery.c.endpoint_id,
    delivery.c.next_attempt_at,
    sqlite_where=_PENDING,
    postgresql_where=_PENDING,
)

attempt = sa.Table(
    "attempt",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("delivery_id", sa.String(40), sa.ForeignKey("delivery.id", ondelete="CASCADE"), nullable=False),
    sa.Column("endpoint_id", sa.String(40), sa.ForeignKey("endpoint.id", ondelete="CASCADE"), nullable=False),
    sa.Column("message_id", sa.String(40), sa.ForeignKey("message.id", ondelete="CASCADE")),
    sa.Column("event_id", sa.String(40), sa.ForeignKey("event.id", ondelete="CASCADE")),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("response_status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("response_duration_ms", sa.Integer, nullable=False),
    # 0 success, 1 pending, 2 fail, 3 sending (Svix MessageStatus)
    sa.Column("status", sa.Integer, nullable=False),
    # 0 scheduled, 1 manual (Svix MessageAttemptTriggerType)
    sa.Column("trigger_type", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
sa.Index("attempt_message", attempt.c.message_id, attempt.c.id)
sa.Index("attempt_endpoint", attempt.c.endpoint_id, attempt.c.id)
sa.Index("attempt_event", attempt.c.event_id, attempt.c.id)

# Per-endpoint throttleRate across processes: the earliest time (epoch seconds) of the next send.
endpoint_throttle = sa.Table(
    "endpoint_throttle",
    metadata,
    sa.Column(
        "endpoint_id", sa.String(40), sa.ForeignKey("endpoint.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("next_slot", sa.Float, nullable=False),
)

# Endpoints under flow control (delivery/flow.py): with a maxInFlight, or paused after a 429/503
# with Retry-After.
# An endpoint with a row here is claimed apart from the others, under its rules; an endpoint
# without one costs the claim nothing.
endpoint_flow = sa.Table(
    "endpoint_flow",
    metadata,
    sa.Column(
        "endpoint_id", sa.String(40), sa.ForeignKey("endpoint.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("max_in_flight", sa.Integer),
    sa.Column("paused_until", UtcDateTime),
)

# Operational webhooks (endpoint.disabled, message.attempt.*) waiting to reach the operator's URL:
# written with the delivery results that caused them, deleted once delivered or given up.
operational_webhook = sa.Table(
    "operational_webhook",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # the webhook-id, the same on every try
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),  # the JSON envelope, fixed when it happened
    sa.Column("attempt_count", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_expires_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
sa.Index("operational_webhook_due", operational_webhook.c.next_attempt_at)

# Inbound de-duplication (inbound/dedupe.py): the key of each delivery a source stored, for its
# window; a second delivery with the key is answered with the first event and stored nowhere.
event_dedupe = sa.Table(
    "event_dedupe",
    metadata,
    sa.Column("source_id", sa.String(40), sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),  # sha256 of the delivery id, hex
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)
sa.Index("event_dedupe_expires", event_dedupe.c.expires_at)

# Background tasks (Svix's qtask_…): recover, replays, content purges. The API inserts one
# `running`; a worker leases it and works through it page by page (`cursor` is where it is, `data`
# what it did so far), so a restart resumes it; it ends `finished` or `failed`.
background_task = sa.Table(
    "background_task",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("task", sa.String(64), nullable=False),  # Svix's BackgroundTaskType: endpoint.recover …
    sa.Column("status", sa.String(16), nullable=False),  # running | finished | failed
    sa.Column("app_id", sa.String(40)),  # whose it is: app-scoped tokens see their app's only
    sa.Column("params", Json, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("cursor", sa.String(64)),
    sa.Column("worker_id", sa.String(64)),
    sa.Column("lease_expires_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
sa.Index("background_task_status", background_task.c.status, background_task.c.id)

idempotency_key = sa.Table(
    "idempotency_key",
    metadata,
    # sha256 of (the caller's Authorization header, path, key): the key is scoped to the token.
    sa.Column("scope_key", sa.String(64), primary_key=True),
    # processing | done
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("headers", Json),
    # The answer replayed: it may hold a token or a secret, so it is encrypted like one.
    sa.Column("body", EncryptedBytes),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)
