"""``hookhub worker``: a process that only delivers, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging.config
import signal

from hookhub import logs
from hookhub.config import Settings


async def run_worker(settings: Settings) -> None:
    from hookhub.delivery.install import install
    from hookhub.runtime import Runtime

    logging.config.dictConfig(logs.config(settings.log_level, settings.log_format))
    runtime = Runtime(settings)
    install(runtime, run_worker=True)
    if settings.worker_metrics_port is not None:
        runtime.metrics.serve_in_background(settings.worker_metrics_host, settings.worker_metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    try:
        await stop.wait()
    finally:
        await runtime.stop()
