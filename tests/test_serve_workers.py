"""``hookhub serve --workers N``: N processes share the port under a supervisor that restarts one
that dies; listeners and ingest meet across them through Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import redis
import websockets

from tests.support.server import ServerProcess, hookhub_command

REDIS_URL = os.environ.get("HOOKHUB_TEST_REDIS", "redis://127.0.0.1:6379") + "/9"


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _two_children(pid: int, without: int | None = None) -> set[int] | None:
    found = _children(pid)
    return found if len(found) == 2 and without not in found else None


def _wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def test_two_processes_serve_one_port_and_a_dead_one_is_replaced(make_database, tmp_path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    server = ServerProcess(make_database(), tmp_path, {"HOOKHUB_REDIS_URL": REDIS_URL}).start(
        "--workers", "2"
    )
    try:
        assert server.process is not None
        children = _wait_for(lambda: _two_children(server.process.pid))
        # Announced once, by the supervisor, when both have started (the first may answer before).
        _wait_for(lambda: "2 processes" in server.log())
        assert server.log().count("2 processes") == 1

        with server.client() as api:
            source = api.post("/ingest/api/v1/source", json={"name": "workers"}).json()
        key = source["ingestUrl"].rsplit("/", 1)[1]

        async def listen_while_ingesting() -> list[str]:
            async with websockets.connect(f"{server.url.replace('http', 'ws')}/listen/{key}") as ws:
                await ws.recv()  # the ready frame: registered
                sent = []
                for n in range(20):  # a new connection each: the kernel spreads them over both
                    async with httpx.AsyncClient() as client:
                        answer = await client.post(source["ingestUrl"], json={"n": n})
                    sent.append(answer.headers["x-hookhub-event-id"])
                got = []
                while len(got) < len(sent):
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    if "type" not in frame:
                        got.append(frame["id"])
                assert sorted(got) == sorted(sent)
                return sent

        asyncio.run(listen_while_ingesting())

        doomed = min(children)
        os.kill(doomed, signal.SIGKILL)
        replaced = _wait_for(lambda: _two_children(server.process.pid, without=doomed))
        assert doomed not in replaced
        for _ in range(10):
            assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
    finally:
        assert server.stop() == 0, server.log()


def test_several_processes_need_redis(make_database, tmp_path) -> None:
    env = {**os.environ, "HOOKHUB_DATABASE_URL": make_database()}
    env.pop("HOOKHUB_REDIS_URL", None)
    done = subprocess.run(
        hookhub_command("serve", "--workers", "2"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "needs HOOKHUB_REDIS_URL" in done.stderr
