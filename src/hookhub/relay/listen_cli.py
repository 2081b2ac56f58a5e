"""``hookhub listen <src> [--forward-to URL]``: relay a source's events to a local server.

Connects to ``/listen/{key}`` as a WebSocket listener, replays each event to the local server as the
original request (method, sub-path, query, headers plus any ``-H`` ones, the exact body bytes, so
provider signatures still verify), and when the event waits for a reply, posts the local response
back as the reply. Without ``--forward-to`` it prints each event instead. ``--events`` keeps only
some event types. Reconnects after a drop and resumes after the last event it saw, so nothing is
lost meanwhile; with ``--resume``, after a restart too (the last event id is kept in a state file).
The forward is not judged by the SSRF guard, on purpose: it runs on the listener's own machine
and targets the server its user names there, usually ``localhost``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import orjson
from rich.console import Console
from rich.text import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hookhub.relay.events import HOP_BY_HOP, raw_body
from hookhub.relay.replies import header_problem
from hookhub.relay.ws import CLOSE_REVOKED

MAX_BACKOFF_SECONDS = 10.0
PRINTED_BODY_CHARS = 4000


class ListenError(Exception):
    """A problem that reconnecting will not fix (unknown source, bad token or secret)."""


@dataclass
class Forwarder:
    server: str
    source: str
    forward_to: str | None  # None: print each event instead of forwarding it
    token: str | None = None
    secret: str | None = None
    keys: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # event types (shell patterns) to keep; [] = all
    headers: dict[str, str] = field(default_factory=dict)  # added to every forwarded request
    state_file: Path | None = None  # --resume: where the last event id is kept across restarts
    console: Console = field(default_factory=Console)
    max_events: int | None = None  # stop after this many (tests, scripts)
    last_event_id: str | None = None
    forwarded: int = 0

    async def run(self) -> None:
        key, secret = await self._resolve_source()
        secret = self.secret or secret
        await self._show_relay_secret()
        if self.state_file is not None and self.last_event_id is None:
            self.last_event_id = read_last_event_id(self.state_file)
        backoff = 0.5
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), follow_redirects=False) as local:
            while self.max_events is None or self.forwarded < self.max_events:
                try:
                    async with connect(self._listen_url(key, secret), open_timeout=10, max_size=None) as ws:
                        backoff = 0.5
                        await self._serve(ws, local)
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    if status in (401, 403, 404):
                        raise ListenError(_denied(status)) from exc
                    self._warn(f"server answered {status}; retrying in {backoff:.1f}s")
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and exc.rcvd.code == CLOSE_REVOKED:
                        # The source's key was rotated or its listen secret changed: look it up again.
                        self._warn(f"{exc.rcvd.reason or 'credentials changed'}; looking the source up again")
                        key, secret = await self._resolve_source()
                        secret = self.secret or secret
                        continue
                    self._warn(f"connection lost ({exc.__class__.__name__}); reconnecting in {backoff:.1f}s")
                except (OSError, TimeoutError) as exc:
                    self._warn(f"connection lost ({exc.__class__.__name__}); reconnecting in {backoff:.1f}s")
                else:
                    continue
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _resolve_source(self) -> tuple[str, str | None]:
        """The source's ingest key (from its ingestUrl) and its listen secret when the API shows it."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.server}/ingest/api/v1/source/{quote(self.source, safe='')}"
        async with httpx.AsyncClient(timeout=15.0) as client:
            try:
                response = await client.get(url, headers=headers)
            except httpx.HTTPError as exc:
                raise ListenError(f"cannot reach {self.server}: {exc}") from exc
        if response.status_code == 401:
            raise ListenError("the server refused the API token (use --token or HOOKHUB_TOKEN)")
        if response.status_code == 404:
            raise ListenError(f"no source {self.source!r} on {self.server}")
        if response.status_code != 200:
            raise ListenError(f"looking up the source failed: {response.status_code} {response.text[:200]}")
        body = response.json()
        path = urlsplit(body["ingestUrl"]).path
        key = path.rstrip("/").rsplit("/", 1)[-1]
        secret = (body.get("settings") or {}).get("listenSecret")
        return key, secret if isinstance(secret, str) else None

    async def _show_relay_secret(self) -> None:
        """Print the secret of the ``hookhub-webhook-*`` signature, for the local server to check
        that an event came through hookhub (a token that may not read secrets: not printed)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.server}/ingest/api/v1/source/{quote(self.source, safe='')}/relay-secret"
        async with httpx.AsyncClient(timeout=15.0) as client:
            try:
                response = await client.get(url, headers=headers)
            except httpx.HTTPError:
                return
        if response.status_code == 200:
            self.console.print(
                f"Relay signing secret: {response.json()['key']} "
                "(events carry hookhub-webhook-id/-timestamp/-signature, Standard Webhooks)"
            )

    def _listen_url(self, key: str, secret: str | None) -> str:
        parts = urlsplit(self.server)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query: list[tuple[str, str]] = [("key", k) for k in self.keys]
        if secret:
            query.append(("secret", secret))
        if self.last_event_id:
            query.append(("since", self.last_event_id))
        path = parts.path.rstrip("/") + f"/listen/{quote(key, safe='')}"
        return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))

    async def _serve(self, ws: ClientConnection, local: httpx.AsyncClient) -> None:
        async for message in ws:
            frame = orjson.loads(message)
            kind = frame.get("type")
            if kind == "ready":
                resumed = f" (resuming after {frame['since']})" if frame.get("since") else ""
                where = f"forwarding to {self.forward_to}" if self.forward_to else "printing events"
                self.console.print(f"[green]Connected[/] to {self.source}, {where}{resumed}")
                continue
            if kind == "error":
                self._warn(f"{frame.get('code')}: {frame.get('detail')}")
                continue
            if kind is not None:
                continue
            if not self._wanted(frame):
                self.console.print(f"[dim]skipped {frame['id']} (event type {frame.get('eventType')})[/]")
            elif self.forward_to is None:
                self._print_event(frame)
            else:
                await self._forward(frame, ws, local, self.forward_to)
            self.last_event_id = frame["id"]
            if self.state_file is not None:
                write_last_event_id(self.state_file, frame["id"])
            self.forwarded += 1
            if self.max_events is not None and self.forwarded >= self.max_events:
                return

    def _wanted(self, event: dict[str, Any]) -> bool:
        if not self.events:
            return True
        event_type = event.get("eventType") or ""
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.events)

    def _print_event(self, event: dict[str, Any]) -> None:
        """The event, readable: its request line, type and id, headers, and body."""
        query = urlencode(event.get("query") or {}, doseq=True)
        target = (event.get("path") or "/") + (f"?{query}" if query else "")
        kind = f"  [cyan]{event['eventType']}[/]" if event.get("eventType") else ""
        self.console.print(f"[green]←[/] [bold]{event['method']} {target}[/]{kind}  [dim]{event['id']}[/]")
        for name, value in (event.get("headers") or {}).items():
            self.console.print(Text.assemble((f"  {name}:", "dim"), f" {value}"), highlight=False)
        body = raw_body(event)
        if isinstance(event.get("body"), dict | list):
            self.console.print_json(orjson.dumps(event["body"]).decode())
        elif body:
            text = body.decode("utf-8", errors="replace")
            self.console.print(text[:PRINTED_BODY_CHARS], highlight=False, markup=False)
            if len(text) > PRINTED_BODY_CHARS:
                self.console.print(f"[dim]… {len(text) - PRINTED_BODY_CHARS} more characters[/]")
        if event.get("replyId"):
            self.console.print("[dim]  (its sender waits for a reply; none is sent when printing)[/]")

    async def _forward(
        self, event: dict[str, Any], ws: ClientConnection, local: httpx.AsyncClient, forward_to: str
    ) -> None:
        started = time.perf_counter()
        method, path = event["method"], event.get("path") or ""
        try:
            response = await local.request(
                method,
                target_url(forward_to, path, event.get("query") or {}),
                headers=forward_headers(event.get("headers") or {}) | self.headers,
                content=raw_body(event),
            )
        except httpx.HTTPError as exc:
            self.console.print(f"[red]✗[/] {method} {path or '/'} → {exc.__class__.__name__}: {exc}")
            if event.get("replyId"):
                # Tell the caller now rather than letting it wait for the timeout.
                failed = {"type": "reply", "replyId": event["replyId"], "status": 502}
                failed["body"] = f"hookhub listen could not reach {forward_to}: {exc.__class__.__name__}"
                await ws.send(orjson.dumps(failed).decode())
            return
        elapsed = (time.perf_counter() - started) * 1000
        colour = "green" if response.status_code < 400 else "yellow" if response.status_code < 500 else "red"
        self.console.print(
            f"[{colour}]→[/] {method} {path or '/'} [{colour}]{response.status_code}[/] {elapsed:.0f} ms"
            f"  [dim]{event['id']}[/]"
        )
        if event.get("replyId"):
            frame, dropped = reply_frame(event["replyId"], response)
            if dropped:
                self.console.print(f"  [dim]not passed on (a reply may not set): {', '.join(dropped)}[/]")
            await ws.send(orjson.dumps(frame).decode())

    def _warn(self, text: str) -> None:
        self.console.print(f"[yellow]![/] {text}")


def target_url(forward_to: str, sub_path: str, query: dict[str, Any]) -> str:
    """The forward URL with the event's sub-path appended and its query merged in."""
    parts = urlsplit(forward_to)
    path = parts.path.rstrip("/") + sub_path if sub_path else parts.path or "/"
    pairs = urlencode(query, doseq=True)
    merged = "&".join(part for part in (parts.query, pairs) if part)
    return urlunsplit((parts.scheme, parts.netloc, path, merged, ""))


def state_file_for(server: str, source: str) -> Path:
    """Where ``--resume`` keeps the last event id of this source on this server."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    name = hashlib.sha256(f"{server}\n{source}".encode()).hexdigest()[:16]
    return base / "hookhub" / "listen" / f"{name}.last-event"


def read_last_event_id(path: Path) -> str | None:
    try:
        value = path.read_text().strip()
    except OSError:
        return None
    return value if value.startswith("evt_") else None


def write_last_event_id(path: Path, event_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(event_id)
    partial.replace(path)  # never a half-written id


def parse_header_options(values: list[str]) -> dict[str, str]:
    """``-H "Name: value"`` options; ValueError naming a malformed one."""
    headers: dict[str, str] = {}
    for value in values:
        name, colon, rest = value.partition(":")
        if not colon or not name.strip() or header_problem(name.strip(), rest.strip()) is not None:
            raise ValueError(f"-H {value!r}: expected 'Name: value' with a valid header name and value")
        headers[name.strip()] = rest.strip()
    return headers


def forward_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP}


def reply_frame(reply_id: str, response: httpx.Response) -> tuple[dict[str, Any], list[str]]:
    """The local server's answer as a reply frame, and the notable headers left out of it.

    The headers a reply may not set (``relay/replies.py``) are left out rather than failing the
    reply: a local server routinely sends Connection, Content-Length and Date, and what it sets for
    its own origin (Set-Cookie, a CSP) means nothing on hookhub's. So are Content-Encoding (httpx
    decoded the body) and Server (hookhub answers, not the local server).
    """
    headers: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in response.headers.items():
        lowered = name.lower()
        if lowered in ("content-encoding", "server"):
            continue
        if header_problem(name, value) is None:
            headers[name] = value
        elif lowered not in HOP_BY_HOP and lowered != "date":
            dropped.append(lowered)
    body = response.content.decode("utf-8", errors="replace")
    frame = {
        "type": "reply",
        "replyId": reply_id,
        "status": response.status_code,
        "headers": headers,
        "body": body,
    }
    return frame, dropped


def _denied(status: int) -> str:
    if status == 404:
        return "the server knows no listener URL for this source (was its key rotated?)"
    return "the server refused to let this client listen (wrong or missing listen secret: --secret)"
