"""The ``hookhub`` command line."""

from __future__ import annotations

import asyncio
import gc
import socket
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
from hookhub.store import secrets
from hookhub.store.db import Database

app = typer.Typer(help="hookhub: a self-hosted webhook gateway.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
secrets_app = typer.Typer(help="Encryption at rest of stored secrets.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


def _settings(**overrides: object) -> Settings:
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
        secrets.configure(settings.encryption_key)  # what a command writes, migrations too, is encrypted
        return settings
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


LOOPBACK = "127.0.0.0/8,::1/128"
DEV_WARNING = (
    "development mode (--dev): deliveries may reach this machine's loopback addresses "
    "(HOOKHUB_ALLOW_PRIVATE_NETWORKS={networks}); never use --dev where others can reach hookhub"
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run the delivery worker here.")
    ] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Local development: let deliveries reach receivers on this machine (loopback). "
            "Never in production.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Serve with this many processes sharing the port (each with its own event loop "
            "and delivery worker); more than 1 needs HOOKHUB_REDIS_URL.",
        ),
    ] = 1,
) -> None:
    """Start the API, ingest, relay, dashboard and (by default) the delivery worker."""
    import uvicorn

    from hookhub import logs
    from hookhub.app import create_app
    from hookhub.http.protocol import HttpProtocol
    from hookhub.http.serving import AnnouncingServer, Supervisor

    settings = _settings(host=host, port=port, run_worker=worker)
    if dev:
        allowed = ",".join(part for part in (settings.allow_private_networks, LOOPBACK) if part)
        settings = _settings(host=host, port=port, run_worker=worker, allow_private_networks=allowed)
    if workers > 1 and not settings.redis_url:
        typer.echo(
            "serve --workers needs HOOKHUB_REDIS_URL: listeners, replies and throttles cross "
            "processes through it",
            err=True,
        )
        raise typer.Exit(2)
    limits = _connection_limits(settings)
    token = asyncio.run(_bootstrap(settings))
    if token:
        typer.echo("Created the first org API token (shown once, keep it safe):")
        typer.echo(token)
    if dev:
        typer.echo(DEV_WARNING.format(networks=settings.allow_private_networks), err=True)
    _freeze_startup_objects()

    def config() -> uvicorn.Config:
        return uvicorn.Config(create_app(settings), **options)

    options = dict(
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
    if workers == 1:
        server = AnnouncingServer(config(), settings.base_url)
        server.run()
        if not server.started:  # the port was taken, or start-up failed: uvicorn said why
            raise typer.Exit(3)
        return

    def bind() -> socket.socket:
        return uvicorn.Config(None, host=settings.host, port=settings.port).bind_socket()

    def run_child(sock: socket.socket, slot: int) -> int:
        server = AnnouncingServer(config(), settings.base_url, announce=slot == 0, processes=workers)
        server.run(sockets=[sock])
        return 0 if server.started else 3

    raise typer.Exit(Supervisor(workers, bind, run_child).run())


def _connection_limits(settings: Settings) -> ConnectionLimits:
    open_files = raise_open_files_limit()
    reserved = RESERVED_DESCRIPTORS + (settings.delivery_concurrency if settings.run_worker else 0)
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
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Sends in flight at most (HOOKHUB_DELIVERY_CONCURRENCY, default 512)."),
    ] = None,
) -> None:
    """Run only the delivery worker (any number may run against one database)."""
    from hookhub.delivery.service import run_worker

    settings = _settings(run_worker=True, delivery_concurrency=concurrency)
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
    from hookhub.store.reencrypt import rewrite_secrets

    settings = _settings()
    if not settings.encryption_key:
        typer.echo("Set HOOKHUB_ENCRYPTION_KEY first (`hookhub secrets new-key` makes one).", err=True)
        raise typer.Exit(2)

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
def receive(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    secret: Annotated[
        str | None, typer.Option(help="The endpoint's signing secret (whsec_…): verify every webhook.")
    ] = None,
) -> None:
    """A test receiver: print every webhook that arrives (and verify its signature)."""
    from hookhub.receive_cli import run

    run(host, port, secret)


@app.command()
def listen(
    source: Annotated[str, typer.Argument(help="The source's id (src_…) or uid.")],
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to", help="Local URL to replay each event to (without it: print each event)."
        ),
    ] = None,
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
    events: Annotated[
        list[str] | None,
        typer.Option("--events", help="Event types to keep, comma-separated or repeated; * and ? match."),
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("-H", "--header", help="'Name: value' added to forwarded requests.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="After a restart, continue after the last event handled (a state file).")
    ] = False,
) -> None:
    """Relay a source's events to a local server, and its responses back as replies."""
    from hookhub.relay.listen_cli import Forwarder, ListenError, parse_header_options, state_file_for

    base = (server or _settings().base_url).rstrip("/")
    try:
        headers = parse_header_options(header or [])
    except ValueError as exc:
        typer.echo(f"hookhub listen: {exc}", err=True)
        raise typer.Exit(2) from exc
    forwarder = Forwarder(
        base,
        source,
        forward_to,
        token=token,
        secret=secret,
        keys=key or [],
        events=[part.strip() for value in events or [] for part in value.split(",") if part.strip()],
        headers=headers,
        state_file=state_file_for(base, source) if resume else None,
    )
    try:
        asyncio.run(forwarder.run())
    except ListenError as exc:
        typer.echo(f"hookhub listen: {exc}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


if __name__ == "__main__":
    app()
