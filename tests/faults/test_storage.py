"""PostgreSQL failing under a running cluster: its connections cut, or the server down a while."""

from __future__ import annotations

import asyncio

from tests.faults.scenario import Stage, run_scenario
from tests.faults.table import known_bug

OUTAGE_SECONDS = 5.0
TERMINATED_MID_OPERATION = (
    "store: a pooled asyncpg connection whose backend was terminated mid-statement fails the next "
    "one with InternalClientError 'cannot switch to state N; another operation (2) is in progress', "
    "which store/outage.is_outage does not count as an outage: a message create in that batch is "
    "answered 500 (traceback 'Exception in ASGI application') instead of 503"
)


async def terminate_backends(stage: Stage) -> None:
    cut = await stage.cluster.pg.terminate_backends(stage.cluster.database_name)
    stage.notes.append(f"{cut} connections terminated")


async def stop_postgres(stage: Stage) -> None:
    await stage.cluster.pg.stop("fast")
    await asyncio.sleep(OUTAGE_SECONDS)
    await stage.cluster.pg.start()
    stage.fault_over()


@known_bug(TERMINATED_MID_OPERATION)
async def test_postgres_backends_terminated(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "PostgreSQL backends terminated", terminate_backends))


@known_bug(TERMINATED_MID_OPERATION)  # a fast shutdown terminates the backends first
async def test_postgres_stopped(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "PostgreSQL stopped 5 s", stop_postgres))
