"""Forwarders to a local server: the unmodified npm smee-client, and ``hookhub listen``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import queue
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from websockets.sync.client import ClientConnection, connect

from tests.relay.clients import sse_listener
from tests.relay.e2e import create_source, ingest_url, post
from tests.relay.receiver import Received, receiver
from tests.support.server import ServerProcess, free_port, hookhub_command
from tests.support.waiting import wait_for

SMEE = Path(__file__).parent / "node" / "node_modules" / "smee-client" / "bin" / "smee.js"


class Process:
    """A child process whose output lines are collected in the background."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        import threading

        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if text in line:
                return line
        raise AssertionError(f"{text!r} never appeared; output:\n{''.join(self.output)}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def test_smee_client_forwards_events_to_a_local_server(
    server: ServerProcess, processes: list[Process]
) -> None:
    assert SMEE.exists(), "smee-client is not installed: run scripts/install-test-deps"
    source = create_source(server)
    with receiver() as local:
        smee = Process(
            ["node", str(SMEE), "--url", ingest_url(server, source), "--target", local.url + "/hook"]
        )
        processes.append(smee)
        smee.wait_for("Forwarding")
        payload = {"action": "opened", "number": 7, "nested": {"list": [1, 2]}}
        response = httpx.post(
            ingest_url(server, source) + "?ref=main",
            json=payload,
            headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"},
        )
        assert response.status_code == 200
        got = local.next()
        assert got.method == "POST"
        assert got.path == "/hook?ref=main"
        assert json.loads(got.body) == payload
        assert got.headers["x-github-event"] == "pull_request"
        assert got.headers["x-github-delivery"] == "d-1"
        assert got.headers["content-type"] == "application/json"


def hookhub_listen(
    server: ServerProcess, source_ref: str, forward_to: str, processes: list[Process]
) -> Process:
    """``hookhub listen`` with the server's token, connected (its "Connected" line seen)."""
    listen = Process(
        hookhub_command("listen", source_ref, "--forward-to", forward_to, "--server", server.url),
        env={**server.env, "HOOKHUB_TOKEN": server.token},
    )
    processes.append(listen)
    listen.wait_for("Connected")
    return listen


def sign_github(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def relay_secret(server: ServerProcess, source_id: str) -> str:
    with server.client() as client:
        response = client.get(f"/ingest/api/v1/source/{source_id}/relay-secret")
    assert response.status_code == 200, response.text
    return response.json()["key"]


def relay_signature_verifies(secret: str, request: Received) -> bool:
    """hookhub's relay signature, checked by the ``standardwebhooks`` package (its header names
    mapped from ``hookhub-webhook-*`` to ``webhook-*``)."""
    headers = {
        name.removeprefix("hookhub-"): value
        for name, value in request.headers.items()
        if name.startswith("hookhub-webhook-")
    }
    try:
        standardwebhooks.Webhook(secret).verify(request.body, headers)
    except standardwebhooks.webhooks.WebhookVerificationError:
        return False
    return True


def test_hookhub_listen_forwards_a_signed_request_that_still_verifies(
    server: ServerProcess, processes: list[Process]
) -> None:
    """The local server verifies both the provider's signature (GitHub's, over the exact bytes) and
    hookhub's relay signature (Standard Webhooks, under the source's relay secret)."""
    secret = "gh-webhook-secret"
    source = create_source(
        server,
        type="github",
        config={"secret": secret},
        settings={"reply": {"wait": True, "timeoutSeconds": 20}},
    )
    relay_key = relay_secret(server, source["id"])
    verdicts: queue.Queue[tuple[bool, bool]] = queue.Queue()

    def verify(request: Received) -> tuple[int, dict[str, str], bytes]:
        github = hmac.compare_digest(
            request.headers.get("x-hub-signature-256", ""), sign_github(secret, request.body)
        )
        relayed = relay_signature_verifies(relay_key, request)
        verdicts.put((github, relayed))
        return (
            (202 if github and relayed else 401),
            {"content-type": "application/json", "x-local": "yes"},
            b'{"verified": true}',
        )

    with receiver(verify) as local:
        listen = hookhub_listen(server, source["id"], local.url + "/github", processes)
        assert f"Relay signing secret: {relay_key}" in "".join(listen.output)
        # Whitespace and key order a re-serialisation would change: only the exact bytes verify.
        body = b'{ "action":"opened",\n  "zen": "Keep it logically awesome.", "n": 1.50 }'
        response = httpx.post(
            ingest_url(server, source) + "/push?x=1",
            content=body,
            headers={
                "content-type": "application/json",
                "x-github-event": "push",
                "x-hub-signature-256": sign_github(secret, body),
                "hookhub-webhook-signature": "v1,forged",  # a sender's own is replaced
            },
            timeout=30,
        )
        got = local.next()
        assert verdicts.get(timeout=5) == (True, True)
        assert got.body == body
        assert got.path == "/github/push?x=1"
        assert got.headers["x-github-event"] == "push"
        assert got.headers["hookhub-webhook-id"] == response.headers["x-hookhub-event-id"]
        # The local server's answer went back as the reply to the original caller.
        assert response.status_code == 202
        assert response.json() == {"verified": True}
        assert response.headers["x-local"] == "yes"
        listen.wait_for("202")


def _frame_as_request(frame: dict) -> Received:
    return Received(frame["method"], frame["path"], frame["headers"], base64.b64decode(frame["rawBody"]))


def _next_event(ws: ClientConnection) -> dict:
    while True:
        frame = json.loads(ws.recv(timeout=20))
        if "type" not in frame:
            return frame


def test_relay_signature_survives_resume_and_rotation(server: ServerProcess) -> None:
    """Events resumed from the event log are signed too; after a rotation with a grace period both
    secrets verify, after one without, the replaced secret no longer does."""
    source = create_source(server)
    first = relay_secret(server, source["id"])
    before = httpx.post(ingest_url(server, source), json={"n": 0}, timeout=30).headers["x-hookhub-event-id"]
    assert httpx.post(ingest_url(server, source), json={"n": 1}, timeout=30).status_code == 200

    def rotate(grace: int) -> str:
        with server.client() as client:
            rotated = client.post(
                f"/ingest/api/v1/source/{source['id']}/relay-secret/rotate",
                json={"gracePeriodSeconds": grace},
            )
        assert rotated.status_code == 200, rotated.text
        return rotated.json()["key"]

    second = rotate(600)
    assert second != first and relay_secret(server, source["id"]) == second
    with connect(f"{source['listenWs']}?since={before}") as ws:
        resumed = _frame_as_request(_next_event(ws))
    assert resumed.body == b'{"n":1}'
    assert relay_signature_verifies(second, resumed) and relay_signature_verifies(first, resumed)

    third = rotate(0)
    with connect(source["listenWs"]) as ws:
        assert json.loads(ws.recv(timeout=20))["type"] == "ready"
        assert httpx.post(ingest_url(server, source), json={"n": 2}, timeout=30).status_code == 200
        live = _frame_as_request(_next_event(ws))
    assert relay_signature_verifies(third, live) and relay_signature_verifies(first, live)  # first: in grace
    assert not relay_signature_verifies(second, live)
    forged = Received(live.method, live.path, live.headers, live.body + b" ")
    assert not relay_signature_verifies(third, forged)


def test_hookhub_listen_leaves_out_what_a_reply_may_not_set(
    server: ServerProcess, processes: list[Process]
) -> None:
    """A local server's cookies, policies and framing are its own: the caller gets its status, body
    and other headers, in hookhub's sandbox, rather than a refused reply and a 504."""
    source = create_source(server, settings={"reply": {"wait": True, "timeoutSeconds": 10}})
    own = {
        "set-cookie": "session=local",
        "content-security-policy": "default-src 'self'",
        "x-frame-options": "DENY",
        "access-control-allow-origin": "http://localhost:3000",
        "connection": "keep-alive",
    }

    def answer(request: Received) -> tuple[int, dict[str, str], bytes]:
        return 201, {"content-type": "text/html", "x-local": "yes", **own}, b"<p>created</p>"

    with receiver(answer) as local:
        listen = hookhub_listen(server, source["id"], local.url, processes)
        response = httpx.post(ingest_url(server, source), json={"n": 1}, timeout=30)
        assert response.status_code == 201, response.text
        assert response.text == "<p>created</p>"
        assert response.headers["content-type"] == "text/html"
        assert response.headers["x-local"] == "yes"
        assert "set-cookie" not in response.headers and "x-frame-options" not in response.headers
        assert "access-control-allow-origin" not in response.headers
        assert response.headers["content-security-policy"] == "sandbox"  # hookhub's, not the local one
        listen.wait_for("set-cookie")  # it says what it left out


@pytest.fixture
def own_server(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    # A sync fixture: creating a PostgreSQL database runs its own event loop.
    return make_server()


async def test_restart_closes_sse_cleanly_and_hookhub_listen_resumes(
    own_server: ServerProcess, processes: list[Process]
) -> None:
    server = own_server
    source = create_source(server)
    with receiver() as local:
        listen = hookhub_listen(server, source["id"], local.url, processes)
        async with sse_listener(source["listenSse"]) as sse:
            await post(ingest_url(server, source), json={"n": 1})
            assert json.loads(local.next().body) == {"n": 1}
            assert (await sse.event())["body"] == {"n": 1}
            await asyncio.to_thread(server.stop)
            # The server ended the stream itself (an aborted one raises RemoteProtocolError instead).
            with pytest.raises(EOFError):
                await sse.event()
        server.start()
        for n in (2, 3, 4):
            assert (await post(ingest_url(server, source), json={"n": n})).status_code == 200
        assert [json.loads(local.next().body)["n"] for _ in range(3)] == [2, 3, 4]
        await post(ingest_url(server, source), json={"n": 5})
        assert json.loads(local.next().body) == {"n": 5}
        listen.wait_for("Connected")


def test_hookhub_listen_answers_502_when_the_local_server_is_down(
    server: ServerProcess, processes: list[Process]
) -> None:
    source = create_source(server, settings={"reply": {"wait": True, "timeoutSeconds": 25}})
    nothing_there = f"http://127.0.0.1:{free_port()}/hook"
    hookhub_listen(server, source["uid"], nothing_there, processes)
    response = httpx.post(ingest_url(server, source), json={"n": 1}, timeout=30)
    assert response.status_code == 502
    assert "could not reach" in response.text


def test_hookhub_listen_follows_a_rotated_key(server: ServerProcess, processes: list[Process]) -> None:
    source = create_source(server)
    with receiver() as local:
        listen = hookhub_listen(server, source["id"], local.url, processes)
        with server.client() as api:
            rotated = api.post(f"/ingest/api/v1/source/{source['id']}/token/rotate", json={}).json()
        listen.wait_for("looking the source up again")
        listen.wait_for("Connected")
        response = httpx.post(rotated["ingestUrl"], json={"after": "rotation"}, timeout=30)
        assert response.status_code == 200
        assert json.loads(local.next().body) == {"after": "rotation"}


def test_hookhub_listen_prints_events_when_it_forwards_nowhere(
    server: ServerProcess, processes: list[Process]
) -> None:
    source = create_source(server, settings={"eventTypeFrom": "body.type"})
    listen = Process(
        hookhub_command("listen", source["id"], "--server", server.url),
        env={**server.env, "HOOKHUB_TOKEN": server.token},
    )
    processes.append(listen)
    listen.wait_for("printing events")
    answer = httpx.post(
        ingest_url(server, source) + "/orders?x=1",
        json={"type": "order.paid", "amount": 4200},
        headers={"x-shop": "acme"},
        timeout=30,
    )
    assert answer.status_code == 200
    line = listen.wait_for("POST /orders?x=1")
    assert "order.paid" in line and answer.headers["x-hookhub-event-id"] in line
    listen.wait_for("x-shop: acme")
    listen.wait_for('"amount": 4200')


def test_hookhub_listen_keeps_the_event_types_asked_for_and_adds_headers(
    server: ServerProcess, processes: list[Process]
) -> None:
    source = create_source(server, settings={"eventTypeFrom": "body.type"})
    with receiver() as local:
        listen = Process(
            hookhub_command(
                "listen", source["id"], "--forward-to", local.url, "--server", server.url,
                "--events", "order.*,refund.created", "-H", "X-Local-Key: dev-123",
            ),
            env={**server.env, "HOOKHUB_TOKEN": server.token},
        )  # fmt: skip
        processes.append(listen)
        listen.wait_for("Connected")
        for kind in ("customer.updated", "order.paid", "refund.failed", "refund.created"):
            assert httpx.post(ingest_url(server, source), json={"type": kind}, timeout=30).status_code == 200
        got = [local.next(), local.next()]
        assert [json.loads(request.body)["type"] for request in got] == ["order.paid", "refund.created"]
        assert all(request.headers["x-local-key"] == "dev-123" for request in got)
        listen.wait_for("skipped")
        with pytest.raises(queue.Empty):
            local.requests.get(timeout=1)  # the two others never came


def test_hookhub_listen_refuses_a_malformed_header_option(server: ServerProcess) -> None:
    result = subprocess.run(
        hookhub_command("listen", "src_x", "--server", server.url, "-H", "no colon here"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Name: value" in result.stderr


def test_hookhub_listen_resumes_after_a_restart_with_resume(
    server: ServerProcess, processes: list[Process], tmp_path: Path
) -> None:
    """With --resume, events that came while it was stopped are forwarded when it starts again;
    the ones it forwarded before are not forwarded twice."""
    source = create_source(server)
    env = {**server.env, "HOOKHUB_TOKEN": server.token, "XDG_STATE_HOME": str(tmp_path)}
    command = hookhub_command("listen", source["id"], "--server", server.url, "--resume", "--forward-to")
    with receiver() as local:
        first = Process([*command, local.url], env=env)
        processes.append(first)
        first.wait_for("Connected")
        assert httpx.post(ingest_url(server, source), json={"n": 1}, timeout=30).status_code == 200
        assert json.loads(local.next().body) == {"n": 1}
        # Where --resume keeps its place: written once the event is handled (stopped before that,
        # the event would be forwarded again: at least once).
        states = tmp_path / "hookhub" / "listen"
        wait_for(lambda: states.is_dir() and any(states.iterdir()), what="the state file")
        first.stop()
        [state] = states.iterdir()
        assert state.read_text().startswith("evt_")
        for n in (2, 3):
            assert httpx.post(ingest_url(server, source), json={"n": n}, timeout=30).status_code == 200
        second = Process([*command, local.url], env=env)
        processes.append(second)
        second.wait_for("resuming after")
        assert [json.loads(local.next().body)["n"] for _ in range(2)] == [2, 3]
        with pytest.raises(queue.Empty):
            local.requests.get(timeout=1)
