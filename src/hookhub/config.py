"""Settings, read once at start from HOOKHUB_* environment variables and CLI flags.

Nothing else in hookhub reads ``os.environ``: components receive a ``Settings``.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hookhub.http.limits import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_HEAD_TIMEOUT_SECONDS,
    DEFAULT_MAX_HEAD_BYTES,
)

DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOOKHUB_", extra="forbid")

    database_url: str = "sqlite:///hookhub.db"
    # PostgreSQL: how long to wait for a connection, and for any one statement, before the
    # request that needs it is answered 503 (a stalled server is an outage, not a hang).
    database_connect_timeout_seconds: float = Field(5.0, gt=0)
    database_statement_timeout_seconds: float = Field(10.0, gt=0)
    # SQLite: "full" answers a write once it is on disk (fsync; survives a power cut), "normal"
    # once it is in the file (survives the process being killed, not the machine losing power).
    sqlite_synchronous: Literal["full", "normal"] = "full"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Base URL the outside world uses to reach this server (ingest URLs, portal links).
    public_url: str | None = None
    run_worker: bool = True
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"

    max_body_bytes: int = 1024 * 1024
    # What one client connection may cost (http/limits.py): a request head's size, how long a head
    # may take, the longest pause in a body, and how many connections are open at once (unset:
    # as many as the open-files limit leaves room for, at most 10,000).
    max_head_bytes: int = Field(DEFAULT_MAX_HEAD_BYTES, ge=1024)
    head_timeout_seconds: float = Field(DEFAULT_HEAD_TIMEOUT_SECONDS, gt=0)
    body_timeout_seconds: float = Field(DEFAULT_BODY_TIMEOUT_SECONDS, gt=0)
    max_connections: int | None = Field(None, ge=1)
    # Comma-separated seconds between attempts; the first entry is the delay of the first attempt.
    retry_schedule: str = DEFAULT_RETRY_SCHEDULE
    request_timeout_seconds: float = 15.0
    # A worker's claim on a delivery; renewed while it is in flight. A worker that dies leaves
    # its deliveries to others once this has passed.
    delivery_lease_seconds: float = Field(10.0, ge=1)
    # Sends one worker process has in flight at most (each holds a socket while it waits).
    delivery_concurrency: int = Field(512, ge=1, le=100_000)
    # On SIGTERM a worker lets in-flight sends finish for this long (at most the request
    # timeout), then cancels the rest: each is recorded as a failed attempt and due again at once.
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    # JavaScript transformations (docs/routing.md): the time limit of one run, and the threads
    # that run them beside the event loop.
    transformation_timeout_ms: int = Field(50, ge=1, le=10_000)
    transformation_threads: int = Field(2, ge=1, le=64)
    disable_endpoint_after_seconds: int = 5 * 24 * 3600
    # A 429 or 503 with Retry-After pauses the whole endpoint for that long, at most this (0: never).
    endpoint_pause_max_seconds: float = Field(3600.0, ge=0)
    allow_private_networks: str = ""
    # Peers whose X-Forwarded-For names the client (an event's sourceIp): addresses or CIDRs, or *.
    trusted_proxies: str = "127.0.0.1,::1"
    send_svix_headers: bool = False
    operational_webhook_url: str | None = None
    operational_webhook_secret: str | None = None
    secret_grace_period_seconds: int = 24 * 3600
    idempotency_ttl_seconds: int = 24 * 3600
    event_retention_days: int = 30
    # How long an ingest node trusts its cached copy of a source (Redis also pushes changes at once).
    source_cache_seconds: float = 2.0
    # `hookhub worker` serves its own /metrics (no auth) on this port when set; serve has /metrics.
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # How often each node checks that its connected listeners' key and listen secret still hold.
    listener_recheck_seconds: float = Field(5.0, gt=0)
    message_retention_days: int = 90
    encryption_key: str | None = None

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",") if part.strip()]
        except ValueError as exc:
            raise ValueError("HOOKHUB_RETRY_SCHEDULE must be comma-separated seconds") from exc
        if not delays or any(d < 0 for d in delays):
            raise ValueError("HOOKHUB_RETRY_SCHEDULE needs at least one non-negative delay")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_keys(cls, value: str | None) -> str | None:
        if value:
            from hookhub.store.secrets import parse_keys

            parse_keys(value)
        return value

    @field_validator("allow_private_networks")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        from hookhub.http.client_address import parse_trusted

        parse_trusted(value)
        return value

    @cached_property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.retry_schedule.split(",") if part.strip())

    @cached_property
    def private_networks_allowed(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.allow_private_networks.split(",")
            if part.strip()
        )

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql", "postgres"))
