"""Redis failing under a running cluster, with a listener on one node while ingest goes to the
other (the relay crosses nodes through Redis) and a source whose throttle is shared in Redis."""

from __future__ import annotations

import asyncio

from tests.faults.scenario import Stage, run_scenario

OUTAGE_SECONDS = 5.0
# Longer than two of redis-py's default 5 s timeouts back to back: before hookhub bounded its Redis
# calls itself, that is how long a stall took to lose a PUBLISH.
PAUSE_SECONDS = 12.0


async def stop_redis(stage: Stage) -> None:
    await stage.cluster.redis.stop()
    await asyncio.sleep(OUTAGE_SECONDS)
    await stage.cluster.redis.start()
    stage.fault_over()


async def pause_redis(stage: Stage) -> None:
    stage.cluster.redis.pause()
    await asyncio.sleep(PAUSE_SECONDS)
    stage.cluster.redis.resume()
    stage.fault_over()


async def test_redis_restarted(healthy_cluster, record):
    row = await run_scenario(healthy_cluster, "Redis stopped 5 s", stop_redis, probe_throttle=True)
    record(row)


async def test_redis_paused(healthy_cluster, record):
    row = await run_scenario(healthy_cluster, "Redis paused 12 s (SIGSTOP)", pause_redis, probe_throttle=True)
    record(row)
