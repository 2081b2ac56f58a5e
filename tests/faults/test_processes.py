"""hookhub's own processes killed or stopped mid-load; a supervisor restarts them at once."""

from __future__ import annotations

import asyncio
import re
import signal
import time

from tests.faults.receivers import Behaviour, steady
from tests.faults.scenario import Stage, run_scenario


async def kill_worker(stage: Stage) -> None:
    worker = stage.cluster.workers[0]
    worker.signal(signal.SIGKILL)
    await worker.wait_exit(5)
    stage.fault_over()
    stage.notes.append(f"restarted in {await worker.restart():.1f} s")


async def kill_serve(stage: Stage) -> None:
    serve = stage.cluster.serves[1]  # the node the ingest load goes to first
    serve.signal(signal.SIGKILL)
    await serve.wait_exit(5)
    stage.fault_over()
    stage.notes.append(f"restarted in {await serve.restart():.1f} s")


async def terminate_worker(stage: Stage) -> None:
    """SIGTERM while the receiver takes 0.5 s per request, so the worker holds requests in flight:
    it should finish them, or hand them back at once. (Well under the 2 s request timeout: on a
    busy machine a slower answer can outlast it and be sent again, which is not the point here.)"""
    stage.receiver.set_mode(steady(Behaviour(delay=0.5)))
    await asyncio.sleep(1.5)
    worker = stage.cluster.workers[0]
    held = await stage.cluster.held_by(worker)
    worker.signal(signal.SIGTERM)
    signalled = time.monotonic()
    code = await worker.wait_exit(30)
    exited = time.monotonic() - signalled
    said = re.search(r"stopped \((\d+) released\)", worker.log_since_start())
    stage.receiver.set_mode(steady())
    stage.fault_over()
    await worker.restart()
    deadline = time.monotonic() + 20
    while not held <= stage.receiver.first_ack_by_webhook_id().keys() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    first = stage.receiver.first_ack_by_webhook_id()
    twice = sum(1 for i, count in stage.receiver.acks_by_webhook_id().items() if i in held and count > 1)
    if held <= first.keys():
        last = max(0.0, max((first[i] for i in held), default=signalled) - signalled)
        sent = f"all delivered by {last:.1f} s after SIGTERM"
    else:
        sent = f"{len(held - first.keys())} not delivered within 20 s"
    stage.notes.append(
        f"worker held {len(held)} in flight at SIGTERM, exited {exited:.1f} s later (code {code}, "
        f"{said[1] if said else '?'} released); {sent}, {twice} sent twice"
    )


async def test_worker_sigkill(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "worker SIGKILL (restarted)", kill_worker))


async def test_serve_sigkill(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "serve SIGKILL (restarted)", kill_serve))


async def test_worker_sigterm(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "worker SIGTERM mid-load (restarted)", terminate_worker))
