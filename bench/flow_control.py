"""Deliveries/s with flow control against plain: ``python -m bench.flow_control``.

For each backend and case a fresh database gets a backlog of messages to one endpoint (written by
``serve --no-worker``), then one ``hookhub worker`` drains it into the counting loopback receiver
(``bench.apps:receiver``, which answers at once). The cases: no limit; ``maxInFlight`` 512 (as
many as a worker sends at once: the controlled claim, never binding); ``maxInFlight`` 16 (binding).
``--against REF`` adds the plain case run with the code of a git revision (say ``main``), to see
what the flow-control checks cost endpoints that use none.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import delivery, procs
from bench.databases import fresh_database
from bench.setup import MESSAGE_BODY

CASES: tuple[tuple[str, int | None], ...] = (
    ("plain", None),
    ("maxInFlight 512", 512),
    ("maxInFlight 16", 16),
)


def _backlog(hub: procs.Hookhub, receiver_url: str, max_in_flight: int | None, count: int) -> None:
    with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30) as client:
        app_id = client.post("/api/v1/app", json={"name": "flow bench"}).raise_for_status().json()["id"]
        body = {"url": f"{receiver_url}/hook", "maxInFlight": max_in_flight}
        client.post(f"/api/v1/app/{app_id}/endpoint", json=body).raise_for_status()
        headers = {"content-type": "application/json"}

        def post(_: int) -> None:
            client.post(f"/api/v1/app/{app_id}/msg", content=MESSAGE_BODY, headers=headers).raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(post, range(count)))


def run_case(
    backend: str, workdir: Path, receiver_url: str, max_in_flight: int | None, count: int, source: Path | None
) -> tuple[delivery.Drain, float]:
    """The drain, and the worker's CPU milliseconds per delivery from the first one on (steadier
    than the rate on a shared machine)."""
    with fresh_database(backend, workdir) as url:
        hub = procs.Hookhub(url, workdir, source)
        serve = hub.serve("--no-worker")
        try:
            _backlog(hub, receiver_url, max_in_flight, count)
        finally:
            serve.stop()
        delivery.reset(receiver_url)
        started = time.time()
        worker = hub.worker()
        try:
            delivery.wait_first(receiver_url, timeout=60)
            cpu, first = procs.cpu_seconds(worker.pid), delivery.stats(receiver_url)["count"]
            drain = delivery.measure_drain(receiver_url, count, started, timeout=300)
            cpu_ms = (procs.cpu_seconds(worker.pid) - cpu) * 1000 / max(drain.delivered - first, 1)
            return drain, cpu_ms
        finally:
            worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--against", help="also run the plain case with this git revision's code")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each case, interleaved")
    parser.add_argument("--cases", default="plain,512,16", help="plain and/or maxInFlight values")
    opt = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="hookhub-flow-bench-") as tmp:
        workdir = Path(tmp)
        cases: list[tuple[str, int | None, Path | None]] = [
            (f"maxInFlight {part}", int(part), None) if part != "plain" else ("plain", None, None)
            for part in opt.cases.split(",")
        ]
        if opt.against:
            cases.insert(0, (f"plain @ {opt.against}", None, procs.export_source(opt.against, workdir)))
        receiver, receiver_url = procs.uvicorn_app("receiver", "bench.apps:receiver", workdir)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        try:
            for backend in opt.backends.split(","):
                for _ in range(opt.rounds):
                    for name, limit, source in cases:
                        drain, cpu_ms = run_case(backend, workdir, receiver_url, limit, opt.backlog, source)
                        note = "" if drain.delivered >= drain.expected else f" ({drain.delivered} arrived)"
                        logging.info("%s %s: %.0f/s, %.3f ms CPU%s", backend, name, drain.rate, cpu_ms, note)
                        results.setdefault((backend, name), []).append((drain.rate, cpu_ms))
        finally:
            receiver.stop()
    print(
        f"\n| backend | case | deliveries/s (backlog {opt.backlog}, best of {opt.rounds}) "
        "| worker CPU per delivery (least) |"
    )
    print("|---|---|---|---|")
    for (backend, name), runs in results.items():
        rate, cpu_ms = max(r for r, _ in runs), min(c for _, c in runs)
        print(f"| {backend} | {name} | {rate:,.0f} | {cpu_ms:.3f} ms |")


if __name__ == "__main__":
    main()
