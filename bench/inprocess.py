"""hookhub's own CPU per request, without an HTTP server: the ASGI app driven in-process.

    .venv/bin/python -m bench.inprocess msg      # message create (one endpoint)
    .venv/bin/python -m bench.inprocess ingest   # ingest (POST JSON, stored before the answer)

32 concurrent callers, as under ``wrk -c32``, so the group commit batches as it does in the
server. No sockets, no uvicorn: what is left is hookhub's code, the driver and SQLite, so small
changes show here that the noise of the loaded-server figures hides. A temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from typing import Any

import orjson

from hookhub.app import create_app
from hookhub.auth.tokens import create_token
from hookhub.config import Settings
from hookhub.runtime import Runtime

CALLERS = 32
MESSAGE = b'{"eventType":"bench.event","payload":{"action":"setintensity","intensity":50}}'
EVENT = b'{"action":"setintensity","intensity":50,"device":{"id":"dev-1"}}'


async def call(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One POST through the ASGI app: (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


async def measure(what: str, requests: int) -> float:
    """Microseconds of CPU per request."""
    with tempfile.TemporaryDirectory() as workdir:
        runtime = Runtime(Settings(database_url=f"sqlite:///{workdir}/bench.db", run_worker=False))
        app = create_app(runtime=runtime)
        await runtime.start()
        try:
            token = [(b"authorization", f"Bearer {await create_token(runtime.db)}".encode())]
            path, body, headers = await _target(app, what, token)

            async def caller(count: int) -> None:
                for _ in range(count):
                    status, answer = await call(app, path, body, headers)
                    if status not in (200, 202):
                        raise RuntimeError(f"{status}: {answer[:200]!r}")

            await asyncio.gather(*(caller(20) for _ in range(CALLERS)))  # warm-up
            gc.collect()
            gc.freeze()  # as serve does
            per_caller = requests // CALLERS
            started = time.process_time()
            await asyncio.gather(*(caller(per_caller) for _ in range(CALLERS)))
            return (time.process_time() - started) * 1e6 / (per_caller * CALLERS)
        finally:
            await runtime.stop()


async def _target(app: Any, what: str, token: list[tuple[bytes, bytes]]) -> tuple[str, bytes, list]:
    """The path, body and headers of the request to measure, after creating what it needs."""
    if what == "msg":
        app_id = (await _created(app, "/api/v1/app/", b'{"name": "bench"}', token))["id"]
        endpoint = b'{"url": "https://example.com/hook"}'
        await _created(app, f"/api/v1/app/{app_id}/endpoint/", endpoint, token)
        return f"/api/v1/app/{app_id}/msg/", MESSAGE, token
    unthrottled = b'{"name": "bench", "settings": {"throttle": {"limit": 1000000, "periodSeconds": 1}}}'
    source = await _created(app, "/ingest/api/v1/source/", unthrottled, token)
    return "/webhook/" + source["ingestUrl"].rstrip("/").rpartition("/")[2], EVENT, []


async def _created(app: Any, path: str, body: bytes, token: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    status, answer = await call(app, path, body, token)
    if status != 201:
        raise RuntimeError(f"{path}: {status} {answer[:200]!r}")
    return orjson.loads(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["msg", "ingest"])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="the median of this many runs is printed")
    args = parser.parse_args()
    results = sorted(asyncio.run(measure(args.what, args.requests)) for _ in range(args.runs))
    runs = ", ".join(f"{result:.1f}" for result in results)
    print(f"{args.what}: {results[len(results) // 2]:.1f} us CPU per request (runs: {runs})")


if __name__ == "__main__":
    main()
