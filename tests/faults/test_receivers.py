"""Receivers misbehaving for a while: hookhub retries until they take the webhooks."""

from __future__ import annotations

import asyncio

from tests.faults.receivers import Behaviour, Mode, cutting, flapping, steady
from tests.faults.scenario import Fault, Stage, run_scenario


def misbehave(mode: Mode, seconds: float) -> Fault:
    async def fault(stage: Stage) -> None:
        stage.receiver.set_mode(mode)
        await asyncio.sleep(seconds)
        stage.receiver.set_mode(steady())

    return fault


async def test_receiver_slow(healthy_cluster, record):
    # 3 s per answer against the 2 s request timeout: every webhook arrives, none is acknowledged.
    fault = misbehave(steady(Behaviour(delay=3.0)), 5)
    record(await run_scenario(healthy_cluster, "receiver slower than the 2 s timeout, for 5 s", fault))


async def test_receiver_failing(healthy_cluster, record):
    fault = misbehave(steady(Behaviour(500)), 6)
    record(await run_scenario(healthy_cluster, "receiver answering 500 for 6 s", fault))


async def test_receiver_flapping(healthy_cluster, record):
    fault = misbehave(flapping(1.0), 8)
    record(await run_scenario(healthy_cluster, "receiver flapping 500/200 each 1 s for 8 s", fault))


async def test_receiver_cutting(healthy_cluster, record):
    fault = misbehave(cutting(), 5)
    record(await run_scenario(healthy_cluster, "receiver closing mid-response for 5 s", fault))
