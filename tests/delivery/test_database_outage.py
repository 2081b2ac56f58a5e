"""What clients see while PostgreSQL is unreachable: a 503 JSON answer with Retry-After, in
bounded time, on the API and on ingest; stale pooled connections never fail a request; one
warning in the log per outage, not a traceback per request.

hookhub reaches the test's PostgreSQL through a loopback proxy that the test makes stall, cut
every connection, or refuse new ones (tests/support/tcp_proxy.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.databases import BACKEND
from tests.support.server import ServerProcess
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="network faults between hookhub and PostgreSQL"
)

ENV = {
    "HOOKHUB_DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
    "HOOKHUB_DATABASE_STATEMENT_TIMEOUT_SECONDS": "1",
    "HOOKHUB_SOURCE_CACHE_SECONDS": "0.05",  # ingest looks its source up in the database each time
}


@pytest.fixture
def proxied(make_database, tmp_path) -> Iterator[tuple[ServerProcess, TcpProxy]]:
    url = make_database()
    with TcpProxy(5432) as proxy:
        server = ServerProcess(url.replace(":5432/", f":{proxy.port}/"), tmp_path, ENV).start()
        try:
            yield server, proxy
        finally:
            server.stop()


def _app_and_source(api: httpx.Client) -> tuple[str, str]:
    app = api.post("/api/v1/app", json={"name": "outage"}).json()
    source = api.post("/ingest/api/v1/source", json={"name": "outage"}).json()
    return app["id"], source["ingestUrl"]


def _message(api: httpx.Client, app_id: str) -> httpx.Response:
    return api.post(f"/api/v1/app/{app_id}/msg", json={"eventType": "outage.t", "payload": {}})


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "unavailable"
    assert int(response.headers["retry-after"]) > 0


def _until_accepted(call, timeout: float = 20.0) -> httpx.Response:  # type: ignore[no-untyped-def]
    """Retry as a client would, until the request is accepted again."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.is_success or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_a_stalled_database_is_an_outage_not_a_hang(proxied):
    server, proxy = proxied
    with server.client() as api:
        app_id, ingest_url = _app_and_source(api)
        proxy.stall()
        try:
            _assert_unavailable(_message(api, app_id))
            _assert_unavailable(httpx.post(ingest_url, json={"n": 1}, timeout=20))
            health = api.get("/api/v1/health")
            assert health.status_code == 503
            assert health.json()["components"]["database"] == "error"
            assert health.json()["reasons"]["database"]
        finally:
            proxy.heal()
        assert _until_accepted(lambda: _message(api, app_id)).status_code == 202
        assert _until_accepted(lambda: httpx.post(ingest_url, json={"n": 2})).status_code == 200
    assert "Traceback" not in server.log(), server.log()


def test_a_database_that_is_down_answers_503_and_recovers(proxied):
    server, proxy = proxied
    with server.client() as api:
        app_id, ingest_url = _app_and_source(api)
        proxy.refuse()
        try:
            for _ in range(3):
                _assert_unavailable(_message(api, app_id))
                _assert_unavailable(httpx.post(ingest_url, json={"n": 1}, timeout=20))
                _assert_unavailable(api.get(f"/api/v1/app/{app_id}"))
        finally:
            proxy.heal()
        assert _until_accepted(lambda: _message(api, app_id)).status_code == 202
    log = server.log()
    assert "Traceback" not in log, log
    assert log.count("database unavailable") == 1, log


def test_pooled_connections_cut_by_the_server_fail_no_request(proxied):
    server, proxy = proxied
    with server.client() as api:
        app_id, ingest_url = _app_and_source(api)
        # Fill the pool with several connections, then have "the server" close all of them.
        with ThreadPoolExecutor(16) as pool:
            assert all(r.status_code == 202 for r in pool.map(lambda _: _message(api, app_id), range(64)))
        assert proxy.connections > 1
        proxy.cut()
        time.sleep(0.2)  # the server's event loop sees the connections close
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: _message(api, app_id), range(64)))
            answers += list(pool.map(lambda i: httpx.post(ingest_url, json={"i": i}), range(64)))
            answers += list(pool.map(lambda _: api.get(f"/api/v1/app/{app_id}/msg"), range(32)))
    assert [r.status_code for r in answers if not r.is_success] == []
