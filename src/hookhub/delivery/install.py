"""Wiring the delivery engine into a process: the wake-up hook always (so an API-only process
still wakes workers elsewhere), the worker itself and the background task runner when
``run_worker`` is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookhub.delivery.wakeup import Wakeup
from hookhub.delivery.worker import DeliveryWorker
from hookhub.tasks.runner import TaskRunner

if TYPE_CHECKING:
    from hookhub.runtime import Runtime


def install(runtime: Runtime, *, run_worker: bool | None = None) -> DeliveryWorker | None:
    settings = runtime.settings
    wakeup = Wakeup(settings.database_url if settings.is_postgres else None)
    runtime.on_deliveries_enqueued(wakeup.enqueued)
    runtime.add_service(wakeup)
    if not (settings.run_worker if run_worker is None else run_worker):
        return None
    worker = DeliveryWorker(settings, runtime.db, wakeup, runtime.metrics)
    runtime.add_service(worker)
    tasks = TaskRunner(runtime.db, worker.worker_id, runtime.deliveries_enqueued)
    runtime.on_tasks_started(tasks.wake)
    runtime.add_service(tasks)
    runtime.health_checks["delivery_worker"] = worker.healthy
    return worker
