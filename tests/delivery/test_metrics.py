"""``GET /metrics``: ingest requests by source and status, deliveries by outcome with their
duration, and the queue's depth and lag, read back with ``prometheus_client``'s own parser."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from svix.api import MessageIn

from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Receiver, Reply
from tests.delivery.workers import WorkerProcess
from tests.support.server import ServerProcess, free_port


def scrape(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample: (name, sorted labels) -> value."""
    response = httpx.get(f"{server.url}/metrics", headers=server.headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.fixture
def no_worker(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    return make_server(None, "--no-worker")


def test_ingest_requests_are_counted_by_source_and_status(server: ServerProcess) -> None:
    with server.client() as api:
        source = api.post("/ingest/api/v1/source/", json={"name": "counted"}).json()
        guarded = api.post(
            "/ingest/api/v1/source/", json={"name": "guarded", "settings": {"auth": {"type": "bearer"}}}
        ).json()
    for _ in range(3):
        assert httpx.post(source["ingestUrl"], json={"n": 1}).status_code == 200
    assert (
        httpx.post(
            source["ingestUrl"], content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert httpx.post(guarded["ingestUrl"], json={}).status_code == 401
    samples = scrape(server)
    counted = "hookhub_ingest_requests_total"
    assert samples[(counted, (("source_id", source["id"]), ("status", "200")))] == 3
    assert samples[(counted, (("source_id", source["id"]), ("status", "400")))] == 1
    assert samples[(counted, (("source_id", guarded["id"]), ("status", "401")))] == 1


def test_deliveries_by_outcome_and_their_duration(
    server: ServerProcess, make_receiver: Callable[..., Receiver]
) -> None:
    before = scrape(server)
    ok, failing = make_receiver(), make_receiver(Reply(status=500))
    client = svix_client(server)
    good_app, _ = app_with_endpoint(client, ok.url)
    bad_app, _ = app_with_endpoint(client, failing.url)
    for n in range(4):
        client.message.create(good_app, MessageIn(event_type="metrics.test", payload={"n": n}))
    client.message.create(bad_app, MessageIn(event_type="metrics.test", payload={"n": "bad"}))
    ok.wait_for(4)
    failing.wait_for(1)

    def grew(name: str, labels: tuple[tuple[str, str], ...] = ()) -> float:
        return samples.get((name, labels), 0) - before.get((name, labels), 0)

    def recorded() -> bool:
        return (
            grew("hookhub_deliveries_total", (("outcome", "success"),)) >= 4
            and grew("hookhub_deliveries_total", (("outcome", "retry"),)) >= 1
        )

    deadline = time.monotonic() + 10
    samples = scrape(server)  # results are recorded just after the responses arrive
    while not recorded() and time.monotonic() < deadline:
        time.sleep(0.1)
        samples = scrape(server)
    assert grew("hookhub_deliveries_total", (("outcome", "success"),)) >= 4
    assert grew("hookhub_deliveries_total", (("outcome", "retry"),)) >= 1
    assert grew("hookhub_delivery_duration_seconds_count") >= 5
    assert grew("hookhub_delivery_duration_seconds_bucket", (("le", "+Inf"),)) >= 5
    assert samples[("hookhub_delivery_duration_seconds_sum", ())] > 0


def test_queue_depth_and_lag_while_no_worker_runs(no_worker: ServerProcess) -> None:
    client = svix_client(no_worker)
    app_id, _ = app_with_endpoint(client, "http://127.0.0.1:9/nowhere")
    for n in range(3):
        client.message.create(app_id, MessageIn(event_type="metrics.queue", payload={"n": n}))
    time.sleep(0.3)
    samples = scrape(no_worker)
    assert samples[("hookhub_delivery_queue_due", ())] == 3
    assert samples[("hookhub_delivery_queue_scheduled", ())] == 0
    assert samples[("hookhub_delivery_queue_lag_seconds", ())] >= 0.3


def test_metrics_need_an_org_token(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    with server.client() as api:
        app = api.post("/api/v1/app/", json={"name": "portal"}).json()
        portal = api.post(f"/api/v1/auth/app-portal-access/{app['id']}/", json={}).json()
    denied = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {portal['token']}"})
    assert denied.status_code == 403
    assert httpx.post(f"{server.url}/metrics", headers=server.headers).status_code == 405


def test_a_separate_worker_serves_its_own_metrics(
    no_worker: ServerProcess, make_receiver: Callable[..., Receiver], tmp_path: Path
) -> None:
    receiver = make_receiver()
    client = svix_client(no_worker)
    app_id, _ = app_with_endpoint(client, receiver.url)
    port = free_port()
    worker = WorkerProcess(no_worker, tmp_path, "metrics", env={"HOOKHUB_WORKER_METRICS_PORT": str(port)})
    try:
        for n in range(3):
            client.message.create(app_id, MessageIn(event_type="metrics.worker", payload={"n": n}))
        receiver.wait_for(3)
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 10
        while True:
            try:
                text = httpx.get(url, timeout=5).text
            except httpx.TransportError:
                text = ""
            found = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
            }
            if found.get(("hookhub_deliveries_total", (("outcome", "success"),)), 0) >= 3:
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        assert found[("hookhub_delivery_duration_seconds_count", ())] >= 3
    finally:
        assert worker.stop() == 0, worker.log()
