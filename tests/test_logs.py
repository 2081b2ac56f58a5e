"""``HOOKHUB_LOG_FORMAT=json``: everything ``serve`` logs (hookhub's loggers, uvicorn's server and
access logs, tracebacks) comes out on stderr as one JSON object per line. Capabilities in request
targets (ingest keys, reply ids, listen secrets, tokens) never reach the log."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import websockets.sync.client
from websockets.exceptions import InvalidStatus

from tests.support.server import free_port, hookhub_command
from tests.support.waiting import wait_for

# Each request's target holds a secret: whoever reads the log could post, listen or reply with it.
SECRETS = ("INGESTKEY1", "QUERYTOKEN2", "LISTENKEY3", "LISTENSECRET4", "REPLYID5", "sk_PORTAL6", "WSSECRET7")


def _secret_requests(url: str) -> None:
    assert httpx.post(f"{url}/webhook/INGESTKEY1/sub/path?a=1&token=QUERYTOKEN2").status_code == 404
    assert httpx.get(f"{url}/listen/LISTENKEY3?secret=LISTENSECRET4&key=device-1").status_code == 404
    assert httpx.post(f"{url}/ingest/api/v1/reply/REPLYID5", json={}).status_code == 404
    assert httpx.get(f"{url}/portal?token=sk_PORTAL6").status_code == 200
    ws_url = url.replace("http://", "ws://") + "/listen/LISTENKEY3?secret=WSSECRET7"
    try:
        with websockets.sync.client.connect(ws_url, open_timeout=10) as ws:
            ws.recv(timeout=10)
    except (InvalidStatus, websockets.ConnectionClosed):
        pass  # refused: no source has that key; uvicorn logs the handshake either way


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
            _secret_requests(url)
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
    expected = {"method": "POST", "path": "/webhook/***/sub/path?a=1&token=***", "status": 404}
    assert any(expected.items() <= record.items() for record in access), access
    assert not [line for line in lines if any(secret in line for secret in SECRETS)]


def test_text_log_lines_by_default(make_database: Callable[[], str], tmp_path: Path) -> None:
    lines = _serve_and_log(make_database(), tmp_path, "text")
    assert any(" INFO hookhub.delivery delivery worker " in line for line in lines)
    for logged in (
        '"POST /webhook/***/sub/path?a=1&token=*** HTTP/1.1" 404',
        '"GET /listen/***?secret=***&key=device-1 HTTP/1.1" 404',
        '"POST /ingest/api/v1/reply/*** HTTP/1.1" 404',
        '"GET /portal?token=*** HTTP/1.1" 200',
        '"WebSocket /listen/***?secret=***"',
    ):
        assert any(logged in line for line in lines), (logged, lines)
    assert not [line for line in lines if any(secret in line for secret in SECRETS)]
