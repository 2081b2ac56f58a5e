"""Whatever a receiver answers ends as a recorded attempt that counts toward retries and the
endpoint's health: unknown charsets, bytes a database cannot store, bodies cut short, broken or
huge headers, a connection closed mid-answer, an answer that is not HTTP at all.

The receiver is a raw socket server (HTTP libraries refuse to misbehave like this): it answers
each request with the canned bytes named by the request's path, then closes the connection.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from svix.api import ApplicationIn, EndpointIn, MessageAttemptListByEndpointOptions, MessageIn

from tests.delivery.conftest import svix_client
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

SCHEDULE = "0,0.2"  # two attempts


def _answer(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


ANSWERS: dict[str, bytes] = {
    "bogus-charset": _answer(
        "HTTP/1.1 200 OK\nContent-Type: text/plain; charset=bogus\nContent-Length: 2\n", b"ok"
    ),
    "codec-charset": _answer(
        "HTTP/1.1 200 OK\nContent-Type: text/plain; charset=base64\nContent-Length: 2\n", b"ok"
    ),
    "idna-charset": _answer(
        "HTTP/1.1 200 OK\nContent-Type: text/plain; charset=idna\nContent-Length: 2\n", b"\xffk"
    ),
    "bogus-charset-500": _answer(
        "HTTP/1.1 500 Oops\nContent-Type: text/html; charset=x-nonsense\nContent-Length: 4\n", b"boom"
    ),
    # A NUL, and UTF-7 that decodes to a lone surrogate: neither can be stored as text as it is.
    "unstorable-text": _answer(
        "HTTP/1.1 200 OK\nContent-Type: text/plain; charset=utf-7\nContent-Length: 9\n", b"a\x00b+2AA-c"
    ),
    "cut-short": _answer("HTTP/1.1 200 OK\nContent-Length: 100\n", b"only nine"),
    "chunked-cut-short": _answer("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"5\r\nhello\r\n"),
    "bad-gzip": _answer("HTTP/1.1 200 OK\nContent-Encoding: gzip\nContent-Length: 4\n", b"nope"),
    "longer-than-its-length": _answer("HTTP/1.1 200 OK\nContent-Length: 2\n", b"ok and more"),
    "closed-mid-head": b"HTTP/1.1 200 OK\r\nContent-Len",
    "closed-at-once": b"",
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n",
    "huge-header": _answer("HTTP/1.1 200 OK\nX-Big: " + "a" * 100_000 + "\nContent-Length: 2\n", b"ok"),
    "duplicate-length": _answer("HTTP/1.1 200 OK\nContent-Length: 2\nContent-Length: 5\n", b"ok"),
    "malformed-header": _answer("HTTP/1.1 200 OK\nNo colon here\nContent-Length: 2\n", b"ok"),
    "switching-protocols": _answer(
        "HTTP/1.1 101 Switching Protocols\nUpgrade: x\nConnection: Upgrade\n", b"zz"
    ),
}


@dataclass
class Expect:
    success: bool
    status_code: int
    response: str  # a part of the recorded response


EXPECTED: dict[str, Expect] = {
    "bogus-charset": Expect(True, 200, "ok"),
    "codec-charset": Expect(True, 200, "ok"),
    "idna-charset": Expect(True, 200, "\ufffdk"),
    "bogus-charset-500": Expect(False, 500, "boom"),
    "unstorable-text": Expect(True, 200, "a\ufffdb?c"),
    "cut-short": Expect(False, 0, "Unreadable answer body (200 OK, 9 bytes read)"),
    "chunked-cut-short": Expect(False, 0, "Unreadable answer body (200 OK"),
    "bad-gzip": Expect(False, 0, "Unreadable answer body"),
    "longer-than-its-length": Expect(False, 0, "Invalid HTTP answer"),  # framing broken
    "closed-mid-head": Expect(False, 0, "Connection closed"),
    "closed-at-once": Expect(False, 0, "Connection closed"),
    "not-http": Expect(False, 0, "Invalid HTTP answer"),
    "huge-header": Expect(False, 0, "Invalid HTTP answer"),
    "duplicate-length": Expect(False, 0, "Invalid HTTP answer"),
    "malformed-header": Expect(False, 0, "Invalid HTTP answer"),
    "switching-protocols": Expect(False, 101, ""),
}


class RawReceiver:
    """Answers a request for ``/…/{name}`` with ``ANSWERS[name]``, byte for byte, then hangs up."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}  # requests by path
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                path = head.split(b" ", 2)[1].decode()
                receiver.hits[path] = receiver.hits.get(path, 0) + 1
                with contextlib.suppress(OSError):  # the client gave up reading (huge header)
                    self.request.sendall(ANSWERS[path.rsplit("/", 1)[-1]])

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def raw() -> Iterator[RawReceiver]:
    receiver = RawReceiver()
    yield receiver
    receiver.close()


def _app_with_endpoints(client, urls: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An application with an endpoint per url: (app id, endpoint id by name)."""
    app = client.application.create(ApplicationIn(name="misbehaving receivers"))
    return app.id, {
        name: client.endpoint.create(app.id, EndpointIn(url=url)).id for name, url in urls.items()
    }


def test_every_answer_ends_as_a_recorded_attempt(make_server, raw: RawReceiver) -> None:
    srv: ServerProcess = make_server(
        {"HOOKHUB_RETRY_SCHEDULE": SCHEDULE, "HOOKHUB_REQUEST_TIMEOUT_SECONDS": "3"}
    )
    client = svix_client(srv)
    app_id, endpoints = _app_with_endpoints(client, {name: f"{raw.base}/all/{name}" for name in ANSWERS})
    msg = client.message.create(app_id, MessageIn(event_type="misbehave.t", payload={"n": 1}))

    # Every delivery reaches a final state: success, or failed after the whole schedule.
    destinations = wait_for(
        lambda: (
            out
            if len(out := client.message_attempt.list_attempted_destinations(app_id, msg.id).data)
            == len(ANSWERS)
            and all(int(dest.status) in (0, 2) for dest in out)
            else None
        ),
        timeout=30,
        what="every delivery settled",
    )
    status_of = {dest.id: int(dest.status) for dest in destinations}
    options = MessageAttemptListByEndpointOptions(with_content=True)
    for name, want in EXPECTED.items():
        attempts = client.message_attempt.list_by_endpoint(app_id, endpoints[name], options).data
        assert len(attempts) == (1 if want.success else 2), (name, [a.response for a in attempts])
        assert raw.hits[f"/all/{name}"] == len(attempts), name
        assert status_of[endpoints[name]] == (0 if want.success else 2), name
        for attempt in attempts:
            assert int(attempt.status) == (0 if want.success else 2), (name, attempt.response)
            assert attempt.response_status_code == want.status_code, (name, attempt.response)
            assert want.response in attempt.response, (name, attempt.response)
            assert "\x00" not in attempt.response


def test_misbehaving_receivers_count_toward_disabling_the_endpoint(make_server, raw: RawReceiver) -> None:
    srv = make_server(
        {"HOOKHUB_DISABLE_ENDPOINT_AFTER_SECONDS": "1", "HOOKHUB_RETRY_SCHEDULE": "0,0.6,0.6,0.6,0.6"}
    )
    client = svix_client(srv)
    names = ("cut-short", "bogus-charset-500")
    app_id, endpoints = _app_with_endpoints(client, {name: f"{raw.base}/disable/{name}" for name in names})
    client.message.create(app_id, MessageIn(event_type="misbehave.t", payload={"n": 2}))
    for name in names:
        wait_for(
            lambda name=name: client.endpoint.get(app_id, endpoints[name]).disabled,
            timeout=60,
            what=f"{name} disabled",
        )
