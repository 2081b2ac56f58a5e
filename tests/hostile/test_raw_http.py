"""Raw-socket HTTP against a real ``hookhub serve``: request smuggling vectors, oversized and slow
heads, truncated bodies, and 204/304 answers (fixed responses and listener replies) given a body.

Each case is compared with the exact answer expected: its status and JSON, that the connection
closes after a refusal (so nothing smuggled behind it is ever answered), and, where it stays open,
that the next request on it gets its own answer. Nothing a refused request carried is stored.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import run_sql
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

HEAD_LIMIT = 16 * 1024
LIMITS = {
    "HOOKHUB_MAX_HEAD_BYTES": str(HEAD_LIMIT),
    "HOOKHUB_HEAD_TIMEOUT_SECONDS": "1",
    "HOOKHUB_BODY_TIMEOUT_SECONDS": "1",
}
BAD_REQUEST = {"code": "bad_request", "detail": "Invalid HTTP request received."}
Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def limited(make_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose heads may hold 16 KiB and whose heads and bodies time out after 1 s."""
    proc = ServerProcess(make_database(), tmp_path_factory.mktemp("raw"), LIMITS).start("--no-worker")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(limited: ServerProcess) -> Iterator[httpx.Client]:
    with limited.client() as client:
        yield client


def make_source(api: httpx.Client, **settings: Any) -> tuple[str, str]:
    """A generic source: its id and its ingest path."""
    response = api.post("/ingest/api/v1/source", json={"name": "raw", "settings": settings})
    assert response.status_code == 201, response.text
    source = response.json()
    return source["id"], "/webhook/" + source["ingestUrl"].rsplit("/webhook/", 1)[1]


def events(api: httpx.Client, source_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/ingest/api/v1/source/{source_id}/event")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(15)
    return sock


def read_answers(sock: socket.socket, count: int | None = None) -> tuple[list[Answer], bool]:
    """Answers read off ``sock`` (framed by Content-Length; a 204 or 304 has no body) until
    ``count`` of them arrived or the server closed; and whether it closed."""
    data, answers, closed = b"", [], False
    while count is None or len(answers) < count:
        chunk = sock.recv(65536)
        if not chunk:
            closed = True
            break
        data += chunk
        while b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in lines)}
            status = int(status_line.split()[1])
            length = 0 if status in (204, 304) else int(headers.get("content-length", "0"))
            if len(rest) < length:
                break
            answers.append((status, headers, rest[:length]))
            data = rest[length:]
    assert data == b"", f"bytes beyond the answers: {data!r}"
    return answers, closed


def post(path: str, body: bytes, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


# Request smuggling: every framing httptools cannot read unambiguously is a 400 that closes the
# connection, so what follows it is never read as a request of its own.
SMUGGLED = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
VECTORS = {
    "Content-Length and Transfer-Encoding": (
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED.decode()
    ),
    "Transfer-Encoding obfuscated (xchunked)": "Transfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\nabc",
    "Transfer-Encoding with a space before the colon": "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "Transfer-Encoding not ending in chunked": "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "Transfer-Encoding twice": (
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    ),
    "Content-Length twice, different": "Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
    "Content-Length twice, the same": "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "Content-Length with a sign": "Content-Length: +3\r\n\r\nabc",
    "Content-Length with a space before the colon": "Content-Length : 3\r\n\r\nabc",
    "a header folded onto the next line": "X-A: a\r\n b\r\nContent-Length: 3\r\n\r\nabc",
    "a chunk size that overflows": (
        "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n" + SMUGGLED.decode()
    ),
    "a chunk size line ending in a bare LF": "Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n",
}


@pytest.mark.parametrize("vector", VECTORS, ids=list(VECTORS))
def test_a_smuggling_vector_is_a_400_and_the_connection_ends(
    limited: ServerProcess, api: httpx.Client, vector: str
) -> None:
    source_id, path = make_source(api)
    with connect(limited) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{VECTORS[vector]}".encode() + SMUGGLED)
        answers, closed = read_answers(sock)
    [(status, headers, body)] = answers  # the smuggled GET gets no answer
    assert (status, json.loads(body), headers["connection"], closed) == (400, BAD_REQUEST, "close", True)
    assert events(api, source_id) == []


def test_a_request_line_ending_in_a_bare_lf_is_a_400(limited: ServerProcess, api: httpx.Client) -> None:
    source_id, path = make_source(api)
    with connect(limited) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc".encode() + SMUGGLED)
        answers, closed = read_answers(sock)
    [(status, _, body)] = answers
    assert (status, json.loads(body), closed) == (400, BAD_REQUEST, True)
    assert events(api, source_id) == []


def test_pipelined_requests_each_get_their_own_answer(limited: ServerProcess, api: httpx.Client) -> None:
    """The control for the vectors above: well-framed requests on one connection, in order."""
    source_id, path = make_source(api)
    chunked = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    with connect(limited) as sock:
        sock.sendall(post(path, b'{"n": 1}') + chunked.encode() + SMUGGLED)
        answers, closed = read_answers(sock, 3)
    assert not closed
    assert [status for status, _, _ in answers] == [200, 200, 200]
    first, second = answers[0][1]["x-hookhub-event-id"], answers[1][1]["x-hookhub-event-id"]
    assert json.loads(answers[2][2])["status"] == "ok"  # the health check's own answer
    stored = {event["id"]: event for event in events(api, source_id)}
    assert set(stored) == {first, second}


# Heads and bodies


def test_an_oversized_head_is_a_431(limited: ServerProcess, api: httpx.Client) -> None:
    source_id, path = make_source(api)
    with connect(limited) as sock:
        sock.sendall(post(path, b"{}", f"X-Big: {'a' * HEAD_LIMIT}\r\n") + SMUGGLED)
        answers, closed = read_answers(sock)
    [(status, headers, body)] = answers
    assert (status, headers["connection"], closed) == (431, "close", True)
    assert json.loads(body)["code"] == "head_too_large"
    assert events(api, source_id) == []


def test_a_head_that_never_ends_is_cut_off_with_431(limited: ServerProcess) -> None:
    """An unfinished head is counted as it arrives: past the limit, the next read is refused
    (whatever the pace, so this does not race the head timeout)."""
    with connect(limited) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Endless: " + b"a" * 2 * HEAD_LIMIT)
        for _ in range(64):  # up to 64 KiB more, one read each, until refused
            if select.select([sock], [], [], 0.01)[0]:
                break
            sock.sendall(b"a" * 1024)
        answers, closed = read_answers(sock)
    [(status, _, body)] = answers
    assert (status, json.loads(body)["code"], closed) == (431, "head_too_large", True)


def _drip(sock: socket.socket, piece: bytes, pause: float, pieces: int) -> None:
    """Send ``piece`` every ``pause`` seconds until the server answers (or ``pieces`` are sent)."""
    for _ in range(pieces):
        if select.select([sock], [], [], pause)[0]:
            return
        sock.sendall(piece)


def test_a_slow_head_is_a_408(limited: ServerProcess) -> None:
    """Bytes keep arriving, too slowly for the head to end within its timeout."""
    with connect(limited) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        _drip(sock, b"a", 0.05, 200)
        answers, closed = read_answers(sock)
    [(status, headers, body)] = answers
    assert (status, headers["connection"], closed) == (408, "close", True)
    assert json.loads(body) == {
        "code": "request_timeout",
        "detail": "The request's head did not arrive in time.",
    }


def test_a_body_that_stops_arriving_is_a_408_and_stores_nothing(
    limited: ServerProcess, api: httpx.Client
) -> None:
    source_id, path = make_source(api)
    with connect(limited) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode() + b"x" * 10)
        answers, closed = read_answers(sock)
    [(status, _, body)] = answers
    assert (status, json.loads(body), closed) == (
        408,
        {"code": "request_timeout", "detail": "The request's body stopped arriving."},
        True,
    )
    assert events(api, source_id) == []


def test_a_body_cut_short_by_the_client_stores_nothing(limited: ServerProcess, api: httpx.Client) -> None:
    source_id, path = make_source(api)
    with connect(limited) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode() + b"x" * 10)
    # A complete request after it, on a connection of its own: once it is stored, the cut one
    # has long been dropped (or it would be there as well).
    complete = httpx.post(f"{limited.url}{path}", content=b"x" * 100, timeout=30)
    assert complete.status_code == 200
    assert [event["id"] for event in events(api, source_id)] == [complete.headers["x-hookhub-event-id"]]


# 204 and 304 carry no body: neither a source's fixed response nor a listener's reply.


@pytest.mark.parametrize("status", [204, 304])
def test_a_fixed_204_or_304_with_a_body_is_refused_when_saved(api: httpx.Client, status: int) -> None:
    response = api.post(
        "/ingest/api/v1/source",
        json={"name": "raw", "settings": {"response": {"status": status, "body": "smuggled"}}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation"


@pytest.mark.parametrize("status", [204, 304])
def test_a_fixed_204_or_304_saved_with_a_body_before_the_check_ends_at_its_head(
    limited: ServerProcess, api: httpx.Client, status: int
) -> None:
    """Settings written by an older version (here behind the API's back) are answered bodiless, and
    the next request on the connection reads its own answer, not the body."""
    source_id, path = make_source(api)
    settings = {"response": {"status": status, "body": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"}}
    run_sql(
        limited.database_url,
        f"UPDATE source SET settings = '{json.dumps(settings)}' WHERE id = '{source_id}'",
    )
    with connect(limited) as sock:
        sock.sendall(post(path, b'{"n": 1}') + post(path, b'{"n": 2}'))
        answers, closed = read_answers(sock, 2)
    assert not closed
    assert [answer[0] for answer in answers] == [status, status]
    for _, headers, body in answers:
        assert body == b"" and "content-length" not in headers and "transfer-encoding" not in headers
    assert len(events(api, source_id)) == 2


def _wait_for_reply_id(api: httpx.Client, source_id: str, known: set[str]) -> str:
    found: list[str] = []

    def arrived() -> bool:
        found[:] = [e["replyId"] for e in events(api, source_id) if e["replyId"] not in known]
        return bool(found)

    wait_for(arrived, what="the waiting event")
    return found[0]


def test_a_reply_204_or_304_with_a_body_is_refused_and_the_caller_gets_a_bodiless_answer(
    limited: ServerProcess, api: httpx.Client
) -> None:
    source_id, path = make_source(api, reply={"wait": True, "timeoutSeconds": 30})
    with connect(limited) as sock:
        seen: set[str] = set()
        for status in (204, 304):
            sock.sendall(post(path, b'{"waiting": true}'))
            reply_id = _wait_for_reply_id(api, source_id, seen)
            seen.add(reply_id)
            reply_url = f"{limited.url}/ingest/api/v1/reply/{reply_id}"
            refused = httpx.post(
                reply_url, json={"status": status, "body": "HTTP/1.1 200 OK\r\n\r\n"}, timeout=30
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "validation"
            given = httpx.post(
                reply_url, json={"status": status, "headers": {"X-Handled": "yes"}}, timeout=30
            )
            assert given.status_code == 202, given.text
            [(answered, headers, body)], closed = read_answers(sock, 1)
            assert (answered, headers["x-handled"], body, closed) == (status, "yes", b"", False)
            assert "content-length" not in headers
        # The connection still serves a request of another kind with its own answer.
        sock.sendall(SMUGGLED)
        [(status, _, body)], _ = read_answers(sock, 1)
        assert status == 200 and json.loads(body)["status"] == "ok"
