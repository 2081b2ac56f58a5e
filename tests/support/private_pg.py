"""A private PostgreSQL cluster for the fault suite, which may stop it, kill its backends and
start it again without touching the machine's own server (5432).

``initdb`` makes a cluster in a temporary folder (trust auth, superuser ``postgres``, no fsync:
the suite kills processes, not machines), and ``postgres`` runs on a spare loopback port as a
child of the harness (``children.spawn``), as ``nobody`` when the harness runs as root (PostgreSQL
refuses root). Stopping it sends the postmaster the signals ``pg_ctl stop`` sends.
"""

from __future__ import annotations

import asyncio
import glob
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from tests.support import children
from tests.support.server import free_port

# pg_ctl's shutdown modes, as the signals it sends the postmaster.
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}

SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
}


def pg_bin(tool: str) -> str:
    """The newest installed PostgreSQL's ``tool`` (``/usr/lib/postgresql/<v>/bin``), else PATH's."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else tool


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hookhub-faults-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        """``initdb`` into a folder the server's user owns; blocking (a second or two, at set-up)."""
        self.dir.chmod(0o755)
        user = children.unprivileged_user()
        if user:
            shutil.chown(self.dir, user["user"], user["group"])
        options = ["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]
        subprocess.run(
            [pg_bin("initdb"), "-D", str(self.data), *options],
            cwd=self.dir,
            check=True,
            capture_output=True,
            timeout=120,
            **user,  # type: ignore[arg-type]
        )
        conf = "".join(f"{name} = {value}\n" for name, value in SETTINGS.items())
        conf += f"port = {self.port}\nunix_socket_directories = '{self.dir}'\n"
        with (self.data / "postgresql.conf").open("a") as file:
            file.write(conf)

    async def start(self, timeout: float = 30.0) -> float:
        """Start the server and wait until it accepts connections; returns the seconds it took."""
        began = time.monotonic()
        self.process = children.spawn(
            [pg_bin("postgres"), "-D", str(self.data)], self.log_path, cwd=self.dir, as_unprivileged=True
        )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log_tail()}")
            try:
                conn = await asyncpg.connect(self.url(), timeout=1)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                await asyncio.sleep(0.05)
                continue
            await conn.close()
            return time.monotonic() - began
        raise TimeoutError(f"postgres did not accept connections in {timeout}s:\n{self.log_tail()}")

    async def stop(self, mode: str = "fast", timeout: float = 30.0) -> None:
        """Stop the server as ``pg_ctl stop -m <mode>`` would, and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(STOP_SIGNALS[mode])
        if await children.wait_exit(self.process, timeout) is None:
            self.process.kill()
            await children.wait_exit(self.process, 5)

    async def execute(self, sql: str, database: str = "postgres") -> None:
        conn = await asyncpg.connect(self.url(database), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: object, database: str = "postgres") -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url(database), timeout=5)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def create_database(self, name: str) -> str:
        await self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    async def terminate_backends(self, database: str) -> int:
        """``pg_terminate_backend`` on every client connection to ``database``; how many."""
        rows = await self.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            database,
        )
        return sum(1 for row in rows if row[0])

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """Kill the server (immediate shutdown) and remove its folder; safe to call twice."""
        children.end(self.process, signal.SIGQUIT)
        shutil.rmtree(self.dir, ignore_errors=True)
