"""PostgreSQL failing under a running cluster: its connections cut, or the server down a while."""

from __future__ import annotations

import asyncio

from tests.faults.scenario import Stage, run_scenario

OUTAGE_SECONDS = 5.0


async def terminate_backends(stage: Stage) -> None:
    cut = await stage.cluster.pg.terminate_backends(stage.cluster.database_name)
    stage.notes.append(f"{cut} connections terminated")


async def stop_postgres(stage: Stage) -> None:
    await stage.cluster.pg.stop("fast")
    await asyncio.sleep(OUTAGE_SECONDS)
    await stage.cluster.pg.start()
    stage.fault_over()


async def test_postgres_backends_terminated(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "PostgreSQL backends terminated", terminate_backends))


async def test_postgres_stopped(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "PostgreSQL stopped 5 s", stop_postgres))
