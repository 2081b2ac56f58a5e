"""``hookhub worker`` as a real subprocess against a server's database."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.support.server import ServerProcess, hookhub_command


class WorkerProcess:
    def __init__(
        self, server: ServerProcess, workdir: Path, name: str, env: dict[str, str] | None = None
    ) -> None:
        self.log_path = workdir / f"worker-{name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                hookhub_command("worker"),
                env={**server.env, **(env or {})},
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode
