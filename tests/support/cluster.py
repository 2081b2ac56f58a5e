"""hookhub processes as an operator runs them, under a supervisor that restarts what it is told to.

``Cluster.scale_out`` starts a private PostgreSQL and Redis, then 2x ``hookhub serve --no-worker``
and 2x ``hookhub worker`` on them; ``Cluster.embedded`` is one ``hookhub serve`` on a SQLite file
with its own worker (the default installation). Every process is a child of the harness
(``children.spawn``) and is killed at ``close``, whatever happened before.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import children
from tests.support.private_pg import PrivatePostgres
from tests.support.private_redis import PrivateRedis
from tests.support.server import free_port, hookhub_command

# Short timeouts, leases and retries so that every fault resolves within seconds: a dead
# worker's deliveries return after 5 s, and the schedule keeps retrying for ~25 s.
FAST_SETTINGS = {
    "HOOKHUB_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
    "HOOKHUB_REQUEST_TIMEOUT_SECONDS": "2",
    "HOOKHUB_DELIVERY_LEASE_SECONDS": "5",
    "HOOKHUB_RETRY_SCHEDULE": "0,0.5,1,1,1,2,2,2,2,2,2,2,2,2,2,2",
    "HOOKHUB_LOG_LEVEL": "info",
}
READY_TIMEOUT = 90.0  # a busy 2-core machine has taken 30 s to start one


def clean_environment(settings: dict[str, str]) -> dict[str, str]:
    """The harness's environment without any HOOKHUB_* it may carry, plus ``settings``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("HOOKHUB_")}
    return {**inherited, **settings}


class Hookhub:
    """One ``hookhub serve`` or ``hookhub worker`` process, restartable with the same settings."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.args = args
        self.is_serve = args[0] == "serve"
        self.port = free_port() if self.is_serve else None
        self.env = {**env, "HOOKHUB_PORT": str(self.port)} if self.port else dict(env)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = children.spawn(
            hookhub_command(*self.args), self.log_path, env=self.env, cwd=self.workdir
        )
        self.starts += 1

    async def ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Wait until a serve answers its health check with 200, or a worker logs that it runs;
        returns the seconds waited."""
        began = time.monotonic()
        async with httpx.AsyncClient(timeout=1) as client:
            while time.monotonic() < began + timeout:
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                if await self._is_ready(client):
                    return time.monotonic() - began
                await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    async def _is_ready(self, client: httpx.AsyncClient) -> bool:
        if not self.is_serve:
            return bool(re.search(r"delivery worker \S+ started", self.log_since_start()))
        try:
            return (await client.get(f"{self.url}/api/v1/health")).status_code == 200
        except httpx.HTTPError:
            return False

    async def healthy(self, client: httpx.AsyncClient) -> bool:
        """Alive and (for serve) answering its health check with 200 right now."""
        if not self.alive:
            return False
        if not self.is_serve:
            return True
        try:
            return (await client.get(f"{self.url}/api/v1/health")).status_code == 200
        except httpx.HTTPError:
            return False

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait_exit(self, timeout: float) -> int | None:
        assert self.process is not None
        return await children.wait_exit(self.process, timeout)

    async def restart(self) -> float:
        """Kill (if still running) and start again, as a supervisor would; seconds until ready."""
        if self.alive:
            self.signal(signal.SIGKILL)
            await self.wait_exit(10)
        self.spawn()
        return await self.ready()

    def log_since_start(self) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_since_start().splitlines()[-lines:])

    def close(self) -> None:
        children.end(self.process, signal.SIGKILL)


@dataclass
class Cluster:
    workdir: Path
    database_url: str
    env: dict[str, str]
    serves: list[Hookhub] = field(default_factory=list)
    workers: list[Hookhub] = field(default_factory=list)
    pg: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    token: str = ""

    @property
    def processes(self) -> list[Hookhub]:
        return [*self.serves, *self.workers]

    @property
    def database_name(self) -> str:
        return self.database_url.rpartition("/")[2]

    @classmethod
    async def scale_out(cls, workdir: Path, serves: int = 2, workers: int = 2) -> Cluster:
        pg, redis = PrivatePostgres(), PrivateRedis()
        cluster = cls(workdir, "", {}, pg=pg, redis=redis)
        try:
            pg.init()
            await pg.start()
            await redis.start()
            cluster.database_url = await pg.create_database("hookhub")
            settings = {"HOOKHUB_DATABASE_URL": cluster.database_url, "HOOKHUB_REDIS_URL": redis.url()}
            cluster.env = clean_environment({**FAST_SETTINGS, **settings})
            env, serve = cluster.env, ["serve", "--no-worker"]
            cluster.serves = [Hookhub(f"serve-{i}", serve, env, workdir) for i in range(serves)]
            cluster.workers = [Hookhub(f"worker-{i}", ["worker"], env, workdir) for i in range(workers)]
            await cluster._start()
        except BaseException:
            cluster.close()
            raise
        return cluster

    @classmethod
    async def embedded(cls, workdir: Path) -> Cluster:
        """One ``hookhub serve`` on a SQLite file, with its own worker: no PostgreSQL, no Redis."""
        database_url = f"sqlite:///{workdir / 'hookhub.db'}"
        env = clean_environment({**FAST_SETTINGS, "HOOKHUB_DATABASE_URL": database_url})
        cluster = cls(workdir, database_url, env)
        cluster.serves = [Hookhub("serve-sqlite", ["serve"], env, workdir)]
        try:
            await cluster._start()
        except BaseException:
            cluster.close()
            raise
        return cluster

    async def _start(self) -> None:
        self.token = create_token(self.env, self.workdir)  # also migrates, before anything starts
        for process in self.processes:
            process.spawn()
        for process in self.processes:
            await process.ready()

    @property
    def serve_urls(self) -> list[str]:
        return [serve.url for serve in self.serves]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def held_by(self, worker: Hookhub) -> set[str]:
        """The messages and events whose deliveries ``worker`` holds (``sending``) right now: the
        ids a receiver sees as ``webhook-id`` (PostgreSQL only; worker ids carry the pid)."""
        assert self.pg is not None
        rows = await self.pg.fetch(
            "SELECT coalesce(message_id, event_id) FROM delivery "
            "WHERE status = 'sending' AND worker_id LIKE $1",
            f"%-{worker.pid}-%",
            database=self.database_name,
        )
        return {row[0] for row in rows}

    async def unhealthy(self) -> list[str]:
        """The processes (and services) not healthy right now, by name."""
        async with httpx.AsyncClient(timeout=2) as client:
            return [p.name for p in self.processes if not await p.healthy(client)]

    async def wait_healthy(self, timeout: float) -> list[str]:
        """Wait (bounded) until every process is healthy; returns those that still are not."""
        deadline = time.monotonic() + timeout
        while True:
            bad = await self.unhealthy()
            if not bad or time.monotonic() >= deadline:
                return bad
            await asyncio.sleep(0.1)

    async def revive(self) -> list[str]:
        """Restart every process that died or does not answer, as an operator would have to;
        returns their names (a fault that needs this is a finding)."""
        bad = await self.unhealthy()
        for process in self.processes:
            if process.name in bad:
                await process.restart()
        return bad

    async def restore(self) -> None:
        """After a scenario, whatever it did: Redis and PostgreSQL running, every process healthy."""
        if self.redis is not None:
            if self.redis.process is not None and self.redis.process.poll() is None:
                self.redis.resume()
            else:
                await self.redis.start()
        if self.pg is not None and (self.pg.process is None or self.pg.process.poll() is not None):
            await self.pg.start()
        await self.revive()

    def close(self) -> None:
        for process in self.processes:
            process.close()
        if self.redis is not None:
            self.redis.close()
        if self.pg is not None:
            self.pg.close()


def create_token(env: dict[str, str], workdir: Path) -> str:
    out = subprocess.run(
        hookhub_command("token", "create"),
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout.strip().splitlines()[-1]
