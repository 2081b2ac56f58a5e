"""A TCP proxy on loopback that can misbehave like a database host: stall, cut, refuse.

Put between hookhub and a real server (PostgreSQL, Redis) to fault the network path without
touching the server itself: ``stall()`` stops forwarding bytes in both directions (the server
looks frozen: sockets open, nothing answered), ``cut()`` closes every open connection (what
``pg_terminate_backend`` or a restart does to pooled connections), ``refuse()`` closes new
connections at once (the server is down), ``heal()`` goes back to forwarding.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.support.server import free_port


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._call(self._close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def stall(self) -> None:
        self._call(self._set_flowing, False)

    def heal(self) -> None:
        self._refusing = False
        self._call(self._set_flowing, True)

    def cut(self) -> None:
        self._call(self._cut)

    def refuse(self) -> None:
        self._refusing = True
        self._call(self._cut)

    @property
    def connections(self) -> int:
        return len(self._writers) // 2

    # ---- on the proxy's loop ----

    def _call(self, fn, *args):  # type: ignore[no-untyped-def]
        async def run():  # type: ignore[no-untyped-def]
            result = fn(*args)
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    async def _start(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def _set_flowing(self, flowing: bool) -> None:
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    def _cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _close(self) -> None:
        self._cut()
        if self._server is not None:
            self._server.close()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(
            self._pipe(client_reader, server_writer, client_writer),
            self._pipe(server_reader, client_writer, server_writer),
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for end in (writer, other):
                self._writers.discard(end)
                with contextlib.suppress(Exception):
                    end.transport.abort()
