"""uvicorn's server as ``hookhub serve`` runs it: it says where hookhub listens once it does."""

from __future__ import annotations

import socket

import typer
import uvicorn


class AnnouncingServer(uvicorn.Server):
    """Prints ``hookhub listening on …`` once the port is bound, not before: it may be taken
    (then uvicorn says so and exits), and a script waiting for the line may then connect."""

    def __init__(self, config: uvicorn.Config, base_url: str) -> None:
        super().__init__(config)
        self.base_url = base_url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            typer.echo(f"hookhub listening on {self.base_url} (dashboard: {self.base_url}/ui)")
