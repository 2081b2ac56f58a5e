"""A private ``redis-server`` for the fault suite (spare loopback port, no persistence), which it
may stop, restart on the same port, or freeze (SIGSTOP) and thaw (SIGCONT); the machine's own
Redis (6379) is never touched."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from tests.support import children
from tests.support.server import free_port


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hookhub-faults-redis-"))
        self.log_path = self.dir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def start(self, timeout: float = 15.0) -> float:
        """Start the server and wait until it answers PING; returns the seconds it took."""
        began = time.monotonic()
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.dir), "--protected-mode", "no"]
        self.process = children.spawn(command, self.log_path, cwd=self.dir)
        client = aioredis.from_url(self.url(), socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < began + timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited at start:\n{self.log_path.read_text()}")
                try:
                    if await client.ping():
                        return time.monotonic() - began
                except (OSError, aioredis.RedisError):
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise TimeoutError(f"redis-server did not answer in {timeout}s")

    async def stop(self) -> None:
        """Kill the server (it keeps nothing, so this is a stop that loses all its state)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            await children.wait_exit(self.process, 10)

    def pause(self) -> None:
        """Freeze the server: connections stay open, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        children.end(self.process, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)
