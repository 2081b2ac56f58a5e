"""Provider signature verifiers: one small pure module per provider, registered by source ``type``.

Each module (or, for the HMAC variants described as data in ``providers.py``, each
``HmacVerifier``) has ``TYPES`` (source types it serves), ``REQUIRED`` (config keys), ``CHECK`` (the name
a failure is reported under), ``verify(request, config) -> Verdict`` and optionally
``check_config(config)`` (raises ValueError). A provider that signs a timestamp also has
``WINDOW_SECONDS`` (its default window), ``TIMESTAMP_CHECK`` and, when the provider sets a limit,
``MAX_WINDOW_SECONDS``. Callers go through ``run``, never ``verify`` itself.
"""

from __future__ import annotations

import logging
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
    sendgrid,
    shopify,
    slack,
    standard,
    stripe,
    twilio,
    zoom,
)
from hookhub.inbound.verifiers.base import InboundRequest, Verdict, reject
from hookhub.inbound.verifiers.hmac_scheme import HmacVerifier
from hookhub.inbound.verifiers.providers import SCHEMES

__all__ = [
    "REGISTRY",
    "SVIX_TYPES",
    "InboundRequest",
    "Verdict",
    "check_config",
    "module_for",
    "normalize",
    "provider_of",
    "replay_window",
    "run",
]

log = logging.getLogger("hookhub.inbound")

_MODULES: tuple[ModuleType, ...] = (
    alexa,
    discord,
    fitbit,
    github,
    hmac_generic,
    meta,
    sendgrid,
    shopify,
    slack,
    standard,
    stripe,
    twilio,
    zoom,
)
# A verifier is a module, or an ``HmacVerifier`` for a provider described as data (providers.py):
# both have the attributes above.
Verifier = ModuleType | HmacVerifier
REGISTRY: dict[str, Verifier] = {name: module for module in _MODULES for name in module.TYPES}
for _scheme in SCHEMES:
    if _scheme.type in REGISTRY:
        raise RuntimeError(f"source type {_scheme.type!r} is defined twice")
    REGISTRY[_scheme.type] = HmacVerifier(_scheme)
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


def module_for(provider: str) -> Verifier | None:
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


def replay_window(module: Verifier | None, configured: float | None) -> float | None:
    """The seconds a signed timestamp may be away from now: the source's setting, else the
    provider's default, within the provider's own limit; None for providers that sign no time."""
    default = getattr(module, "WINDOW_SECONDS", None)
    if default is None:
        return None
    window = default if configured is None else configured
    return min(window, getattr(module, "MAX_WINDOW_SECONDS", window))


def run(
    module: Verifier, request: InboundRequest, config: Mapping[str, Any], window: float | None, *extra: Any
) -> Verdict:
    """``module.verify`` and the rules every provider shares.

    The request is hostile until verified: whatever a verifier raises while reading it is a failed
    check (401, one log line), never a 5xx that asks the sender to retry. A signed timestamp must
    lie within ``window`` of the request's arrival, either way.
    """
    try:
        verdict: Verdict = module.verify(request, config, *extra)
    except Exception as exc:
        log.warning(
            "%s verifier failed on a malformed request (answered 401): %s: %.200r",
            module.__name__.rsplit(".", 1)[-1],
            type(exc).__name__,
            str(exc),
        )
        return reject(module.CHECK, "the signature or the signed request could not be read")
    signed_at = verdict.signed_at
    if not verdict.ok or signed_at is None or window is None:
        return verdict
    if not abs(request.now - signed_at) <= window:  # written so that NaN fails too
        return reject(module.TIMESTAMP_CHECK, f"the signed timestamp is more than {window:g} s away")
    return verdict
