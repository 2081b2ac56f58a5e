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

__all__ = [
    "REGISTRY",
    "SVIX_TYPES",
    "InboundRequest",
    "Verdict",
    "check_config",
    "module_for",
    "normalize",
    "provider_of",
]

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
GENERIC = "generic-webhook"
# Source types the Svix Ingest API (and so its SDKs) knows. A provider outside this list is stored
# as ``generic-webhook`` with ``config.provider``, so SDK clients can still read every source.
SVIX_TYPES = frozenset(
    {GENERIC, *github.TYPES, *meta.TYPES, *slack.TYPES, *stripe.TYPES, *shopify.TYPES, *zoom.TYPES}
    | {name for name in standard.TYPES if name != "standard-webhooks"}
)
ALIASES = {"facebook": "meta"}


def normalize(source_type: str, config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The (type, config) to store for what the caller sent; ValueError for unknown types."""
    source_type = ALIASES.get(source_type, source_type)
    stored = dict(config)
    if source_type not in SVIX_TYPES:
        if source_type not in REGISTRY:
            known = ", ".join(sorted({*REGISTRY, *ALIASES, GENERIC}))
            raise ValueError(f"unsupported source type {source_type!r}; hookhub knows: {known}")
        stored["provider"] = source_type
        source_type = GENERIC
    check_config(provider_of(source_type, stored), stored)
    return source_type, stored


def provider_of(source_type: str, config: Mapping[str, Any]) -> str:
    """Which verifier a stored source uses: its type, or config.provider for generic-webhook."""
    provider = config.get("provider")
    return provider if source_type == GENERIC and isinstance(provider, str) and provider else source_type


def module_for(provider: str) -> ModuleType | None:
    return REGISTRY.get(provider)


def check_config(provider: str, config: Mapping[str, Any]) -> None:
    """Raise ValueError when ``config`` cannot work for ``provider``."""
    if provider == GENERIC:
        return
    module = REGISTRY.get(provider)
    if module is None:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unsupported config.provider {provider!r}; hookhub knows: {known}")
    for key in module.REQUIRED:
        if not isinstance(config.get(key), str) or not config.get(key):
            raise ValueError(f"config.{key} is required for {provider} sources")
    if hasattr(module, "check_config"):
        module.check_config(config)
