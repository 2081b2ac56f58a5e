"""``HOOKHUB_LOG_FORMAT=json``: everything ``serve`` logs (hookhub's loggers, uvicorn's server and
access logs, tracebacks) comes out on stderr as one JSON object per line."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.server import free_port, hookhub_command
from tests.support.waiting import wait_for


def _serve_and_log(database_url: str, workdir: Path, log_format: str) -> list[str]:
    port = free_port()
    env = {
        **os.environ,
        "HOOKHUB_DATABASE_URL": database_url,
        "HOOKHUB_PORT": str(port),
        "HOOKHUB_LOG_FORMAT": log_format,
        "HOOKHUB_LOG_LEVEL": "info",
    }
    stderr_path = workdir / f"stderr-{log_format}.txt"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            hookhub_command("serve", "--access-log"),
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(f"{url}/api/v1/health") and proc.poll() is None, 30, "serve to start")
            assert httpx.post(f"{url}/webhook/no-such-key").status_code == 404
        finally:
            proc.terminate()
            proc.wait(30)
    return [line for line in stderr_path.read_text().splitlines() if line.strip()]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_json_log_lines(make_database: Callable[[], str], tmp_path: Path) -> None:
    lines = _serve_and_log(make_database(), tmp_path, "json")
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "hookhub.delivery"} <= loggers
    access = [record for record in records if record["logger"] == "uvicorn.access"]
    assert {"method": "POST", "path": "/webhook/no-such-key", "status": 404}.items() <= access[-1].items()


def test_text_log_lines_by_default(make_database: Callable[[], str], tmp_path: Path) -> None:
    lines = _serve_and_log(make_database(), tmp_path, "text")
    assert any(" INFO hookhub.delivery delivery worker " in line for line in lines)
    assert any('"POST /webhook/no-such-key HTTP/1.1" 404' in line for line in lines)
