"""No fault: what the other rows compare against (and a check of the harness itself)."""

from __future__ import annotations

import asyncio

from tests.faults.scenario import Stage, run_scenario


async def nothing(stage: Stage) -> None:
    await asyncio.sleep(3)


async def test_no_fault(healthy_cluster, record):
    record(await run_scenario(healthy_cluster, "none (baseline)", nothing, probe_throttle=True))
