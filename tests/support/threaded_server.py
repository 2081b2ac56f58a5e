"""An ASGI app under uvicorn in a thread of the test process, served the way ``hookhub serve``
serves (uvloop, ASGI 3, no proxy-headers middleware around the app), with a chosen protocol."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from hookhub.http.protocol import HttpProtocol
from tests.support.server import free_port


class ThreadedServer:
    """``with ThreadedServer(app) as server:`` serves on ``server.port`` until the block ends."""

    def __init__(self, app: Any, protocol: type = HttpProtocol, *, timeout_keep_alive: int = 5) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            loop="uvloop",
            http=protocol,
            interface="asgi3",
            log_level="critical",
            timeout_keep_alive=timeout_keep_alive,
            proxy_headers=False,  # the app is called directly, not via a middleware
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
