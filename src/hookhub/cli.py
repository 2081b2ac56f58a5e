"""The ``hookhub`` command line."""

from __future__ import annotations

import asyncio
import gc
from typing import Annotated

import typer

from hookhub.auth.tokens import create_token, has_org_token
from hookhub.config import Settings
from hookhub.http.limits import (
    RESERVED_DESCRIPTORS,
    ConnectionLimits,
    default_max_connections,
    raise_open_files_limit,
)
from hookhub.store.db import Database

app = typer.Typer(help="hookhub: a self-hosted webhook gateway.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
secrets_app = typer.Typer(help="Encryption at rest of stored secrets.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:  # pydantic's message names the offending setting
        typer.echo(f"Invalid configuration: {exc}", err=True)
        raise typer.Exit(2) from exc


async def _migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await db.migrate()
    finally:
        await db.close()


async def _bootstrap(settings: Settings) -> str | None:
    """Migrate, and on an empty installation create the first org token."""
    db = Database(settings.database_url)
    try:
        await db.migrate()
        if await has_org_token(db):
            return None
        return await create_token(db, description="created at first start")
    finally:
        await db.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run the delivery worker here.")
    ] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Start the API, ingest, relay, dashboard and (by default) the delivery worker."""
    import uvicorn

    from hookhub import logs
    from hookhub.app import create_app
    from hookhub.http.protocol import HttpProtocol

    settings = _settings(host=host, port=port, run_worker=worker)
    limits = _connection_limits(settings)
    token = asyncio.run(_bootstrap(settings))
    if token:
        typer.echo("Created the first org API token (shown once, keep it safe):")
        typer.echo(token)
    typer.echo(f"hookhub listening on {settings.base_url}")
    _freeze_startup_objects()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=HttpProtocol.limited(limits),
        interface="asgi3",  # the app is a plain callable returning an awaitable (dispatch.py)
        log_level=settings.log_level,
        log_config=logs.config(settings.log_level, settings.log_format),
        access_log=access_log,
        # Ingest resolves X-Forwarded-For itself, where it stores the client (client_address.py);
        # uvicorn's middleware costs every request a layer, so it only runs for the access log.
        proxy_headers=access_log,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,  # no "server: uvicorn" banner: one header less to validate per answer
        timeout_graceful_shutdown=20,
    )


def _connection_limits(settings: Settings) -> ConnectionLimits:
    from hookhub.delivery.worker import CONCURRENCY

    open_files = raise_open_files_limit()
    reserved = RESERVED_DESCRIPTORS + (CONCURRENCY if settings.run_worker else 0)
    return ConnectionLimits(
        max_head_bytes=settings.max_head_bytes,
        head_timeout=settings.head_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        max_connections=settings.max_connections or default_max_connections(open_files, reserved),
    )


def _freeze_startup_objects() -> None:
    """Leave the objects imports and set-up made out of the cyclic GC's full collections, which
    otherwise walk all of them every few hundred requests (half its time under load)."""
    gc.collect()
    gc.freeze()


@app.command()
def worker() -> None:
    """Run only the delivery worker (any number may run against one database)."""
    from hookhub.delivery.service import run_worker

    settings = _settings(run_worker=True)
    typer.echo("hookhub delivery worker running (Ctrl-C or SIGTERM to stop)")
    _freeze_startup_objects()
    asyncio.run(run_worker(settings))


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest version."""
    settings = _settings()
    asyncio.run(_migrate(settings))
    typer.echo("Database is up to date.")


@token_app.command("create")
def token_create(
    description: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
) -> None:
    """Create an org-wide API token and print it (alone on the last line)."""
    settings = _settings()

    async def run() -> str:
        db = Database(settings.database_url)
        try:
            await db.migrate()
            return await create_token(db, description=description)
        finally:
            await db.close()

    typer.echo(asyncio.run(run()))


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a new key for HOOKHUB_ENCRYPTION_KEY (put it first in the list to rotate)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@secrets_app.command("encrypt")
def secrets_encrypt() -> None:
    """Rewrite every stored secret with the newest HOOKHUB_ENCRYPTION_KEY (after setting or
    rotating it; values written before stay readable until then)."""
    from hookhub.store import secrets
    from hookhub.store.reencrypt import rewrite_secrets

    settings = _settings()
    if not settings.encryption_key:
        typer.echo("Set HOOKHUB_ENCRYPTION_KEY first (`hookhub secrets new-key` makes one).", err=True)
        raise typer.Exit(2)
    secrets.configure(settings.encryption_key)

    async def run() -> dict[str, int]:
        db = Database(settings.database_url)
        try:
            await db.migrate()
            return await rewrite_secrets(db)
        finally:
            await db.close()

    counts = asyncio.run(run())
    typer.echo(", ".join(f"{count} {table} rows" for table, count in counts.items()) + " encrypted")


@app.command()
def listen(
    source: Annotated[str, typer.Argument(help="The source's id (src_…) or uid.")],
    forward_to: Annotated[str, typer.Option("--forward-to", help="Local URL to replay each event to.")],
    server: Annotated[
        str | None, typer.Option(help="hookhub's base URL (default: this machine's configured one).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="HOOKHUB_TOKEN", help="API token used to look the source up.")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="The source's listen secret, if it has one.")] = None,
    key: Annotated[
        list[str] | None, typer.Option("--key", help="Routing key to listen for (repeatable).")
    ] = None,
) -> None:
    """Relay a source's events to a local server, and its responses back as replies."""
    from hookhub.relay.listen_cli import Forwarder, ListenError

    base = (server or _settings().base_url).rstrip("/")
    forwarder = Forwarder(base, source, forward_to, token=token, secret=secret, keys=key or [])
    try:
        asyncio.run(forwarder.run())
    except ListenError as exc:
        typer.echo(f"hookhub listen: {exc}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


if __name__ == "__main__":
    app()
