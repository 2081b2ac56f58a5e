"""The inbound part of one process: its pipeline (cache, limiter, writer).

``inbound_for(runtime)`` builds it once per Runtime and registers its background services;
the ingest app, the sources API and the events API all share it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from hookhub.inbound.pipeline import Pipeline

if TYPE_CHECKING:
    from hookhub.runtime import Runtime

_pipelines: weakref.WeakKeyDictionary[Runtime, Pipeline] = weakref.WeakKeyDictionary()


def inbound_for(runtime: Runtime) -> Pipeline:
    pipeline = _pipelines.get(runtime)
    if pipeline is None:
        pipeline = _pipelines[runtime] = Pipeline(runtime)
        runtime.add_service(pipeline)
    return pipeline
