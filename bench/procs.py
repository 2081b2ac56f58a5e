"""Processes the benchmark starts and stops: hookhub as a user starts it, and the bare apps."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

UVICORN_FLAGS = ("--loop", "uvloop", "--workers", "1", "--no-access-log")
HOOKHUB_HTTP = "hookhub.http.protocol:HttpProtocol"  # what ``hookhub serve`` runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set size (VmHWM), read from /proc; None when unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Process:
    """One child process with its log in ``workdir``; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def peak_rss_mib(self) -> float | None:
        return peak_rss_mib(self.pid) if self.alive() else None

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """Poll ``url`` until it answers at all (health may say 503 while a part is off)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                httpx.get(url, timeout=1)
                return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not answer {url} within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


def uvicorn_app(name: str, target: str, workdir: Path, http: str = "httptools") -> tuple[Process, str]:
    """A bare ASGI app from ``bench.apps`` under stock uvicorn (uvloop, httptools, one process),
    or with another ``--http`` protocol class."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = Process(name, uvicorn_command(target, port, http), workdir, bench_env()).start()
    proc.wait_http(url + "/")
    return proc, url


def uvicorn_command(target: str, port: int, http: str) -> list[str]:
    argv = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    return [*argv, *UVICORN_FLAGS, "--http", http, "--log-level", "warning"]


def bench_env(source_dir: Path | None = None) -> dict[str, str]:
    """The environment that finds ``bench.apps`` (and ``source_dir``'s hookhub first, if given)."""
    paths = [str(source_dir)] if source_dir else []
    paths.append(str(Path(__file__).resolve().parent.parent))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def hookhub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hookhub.cli", *args]


def export_source(ref: str, workdir: Path) -> Path:
    """The ``src`` folder of git revision ``ref`` (read-only ``git archive``), to benchmark a commit
    instead of a working tree that may be half-edited."""
    repo = Path(__file__).resolve().parent.parent
    target = workdir / f"src-{ref.replace('/', '_')}"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", ref, "src"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True, timeout=60)
    return target / "src"


class Hookhub:
    """hookhub started as a user would: ``token create``, then ``serve`` / ``worker``.

    ``source_dir`` (from ``export_source``) puts a snapshot of the code ahead of the installed one.
    """

    def __init__(self, database_url: str, workdir: Path, source_dir: Path | None = None) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **({"PYTHONPATH": str(source_dir)} if source_dir else {}),
            "HOOKHUB_DATABASE_URL": database_url,
            "HOOKHUB_PORT": str(self.port),
            "HOOKHUB_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
            "HOOKHUB_LOG_LEVEL": "warning",
        }
        self.token = self._create_token()

    def _create_token(self) -> str:
        out = subprocess.run(
            hookhub_command("token", "create", "--description", "bench"),
            env=self.env,
            cwd=self.workdir,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return out.stdout.strip().splitlines()[-1]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def serve(self, *args: str, name: str = "serve", env: dict[str, str] | None = None) -> Process:
        proc = Process(
            name, hookhub_command("serve", *args), self.workdir, {**self.env, **(env or {})}
        ).start()
        proc.wait_http(self.url + "/api/v1/health")
        return proc

    def has_worker_command(self) -> bool:
        done = subprocess.run(
            hookhub_command("worker", "--help"), env=self.env, capture_output=True, timeout=60
        )
        return done.returncode == 0

    def worker(self) -> Process:
        return Process("worker", hookhub_command("worker"), self.workdir, self.env).start()
