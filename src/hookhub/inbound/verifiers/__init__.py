"""Provider signature verifiers: one small pure module per provider, registered by source ``type``.

Each module has ``TYPES`` (source types it serves), ``REQUIRED`` (config keys), ``verify(request,
config) -> Verdict`` and optionally ``check_config(config)`` (raises ValueError).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from hookhub.inbound.verifiers import (
    alexa,
    discord,
    fitbit,
    github,
    hmac_generic,
    meta,
    shopify,
    slack,
    standard,
    stripe,
    twilio,
    zoom,
)
from hookhub.inbound.verifiers.base import InboundRequest, Verdict

__all__ = ["REGISTRY", "UNVERIFIED_TYPES", "InboundRequest", "Verdict", "check_config", "module_for"]

_MODULES: tuple[ModuleType, ...] = (
    alexa,
    discord,
    fitbit,
    github,
    hmac_generic,
    meta,
    shopify,
    slack,
    standard,
    stripe,
    twilio,
    zoom,
)
REGISTRY: dict[str, ModuleType] = {name: module for module in _MODULES for name in module.TYPES}
# Types that accept any request (auth settings may still apply).
UNVERIFIED_TYPES = ("generic-webhook",)


def module_for(source_type: str) -> ModuleType | None:
    return REGISTRY.get(source_type)


def check_config(source_type: str, config: Mapping[str, Any]) -> None:
    """Raise ValueError when ``config`` cannot work for ``source_type``."""
    if source_type in UNVERIFIED_TYPES:
        return
    module = REGISTRY.get(source_type)
    if module is None:
        known = ", ".join(sorted([*REGISTRY, *UNVERIFIED_TYPES]))
        raise ValueError(f"unsupported source type {source_type!r}; hookhub knows: {known}")
    for key in module.REQUIRED:
        if not isinstance(config.get(key), str) or not config.get(key):
            raise ValueError(f"config.{key} is required for {source_type} sources")
    if hasattr(module, "check_config"):
        module.check_config(config)
