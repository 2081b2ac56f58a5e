"""uvicorn's server as ``hookhub serve`` runs it: it says where hookhub listens once it does,
and ``--workers N`` runs N of them under a supervisor."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable

import typer
import uvicorn

log = logging.getLogger("hookhub")


class AnnouncingServer(uvicorn.Server):
    """Prints ``hookhub listening on …`` once the port is bound, not before: it may be taken
    (then uvicorn says so and exits), and a script waiting for the line may then connect."""

    def __init__(
        self, config: uvicorn.Config, base_url: str, *, announce: bool = True, processes: int = 1
    ) -> None:
        super().__init__(config)
        self.base_url = base_url
        self.announce = announce
        self.processes = processes

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.announce:
            also = f", {self.processes} processes" if self.processes > 1 else ""
            typer.echo(f"hookhub listening on {self.base_url} (dashboard: {self.base_url}/ui{also})")


class Supervisor:
    """``hookhub serve --workers N``: N processes, each with its own event loop and runtime,
    accepting connections from one listening socket that the supervisor binds and hands down.

    Children are forked once everything they share (settings, the bound socket) is ready and
    before any event loop runs; each builds its own app. One that dies is started again; SIGTERM
    or SIGINT is passed on to every child, and the supervisor waits for their graceful shutdown.
    """

    RESTART_PAUSE_SECONDS = 1.0

    def __init__(
        self, workers: int, bind: Callable[[], socket.socket], run_child: Callable[[socket.socket, int], int]
    ) -> None:
        self.workers = workers
        self._bind = bind
        self._run_child = run_child
        self._children: dict[int, int] = {}  # pid -> slot
        self._stopping = False

    def run(self) -> int:
        sock = self._bind()
        for slot in range(self.workers):
            self._start(sock, slot)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        while self._children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            slot = self._children.pop(pid, None)
            if slot is None or self._stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code == 3:  # it could not start (uvicorn said why): starting it again would not help
                log.error("serve process %d could not start; stopping", pid)
                self._stop(signal.SIGTERM, None)
                return 3
            log.warning("serve process %d ended (%d); starting another", pid, code)
            time.sleep(self.RESTART_PAUSE_SECONDS)
            self._start(sock, slot)
        return 0

    def _start(self, sock: socket.socket, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child: default signal handling, its own loop and app
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            code = 1
            try:
                code = self._run_child(sock, slot)
            finally:
                os._exit(code)
        self._children[pid] = slot

    def _stop(self, signum: int, _frame: object) -> None:
        self._stopping = True
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
