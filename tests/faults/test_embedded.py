"""The embedded default (one ``hookhub serve`` on SQLite, with its own worker) killed mid-load:
everything that got a 2xx is delivered after the restart."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.faults.scenario import Stage, run_scenario
from tests.support.cluster import Cluster


@pytest.fixture(scope="module")
async def embedded(log_dir: Callable[[str], Path]) -> AsyncIterator[Cluster]:
    running = await Cluster.embedded(log_dir("embedded"))
    try:
        yield running
    finally:
        running.close()


async def kill_serve(stage: Stage) -> None:
    serve = stage.cluster.serves[0]
    serve.signal(signal.SIGKILL)
    await serve.wait_exit(5)
    stage.fault_over()
    stage.notes.append(f"restarted in {await serve.restart():.1f} s")


async def test_sqlite_serve_sigkill(embedded, record):
    record(await run_scenario(embedded, "SQLite serve SIGKILL (restarted)", kill_serve))
