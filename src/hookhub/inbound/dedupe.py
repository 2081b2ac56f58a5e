"""Inbound de-duplication: a provider that retries a webhook it already delivered gets the first
answer again (with the first event's id), and nothing is stored, relayed or delivered twice.

Opt-in per source (``settings.dedupe``). The key of a request is where its provider puts the
delivery's id, which stays the same across its retries (``X-GitHub-Delivery``, the Stripe event
id, ``webhook-id`` …: ``PROVIDER_KEYS``), or what the operator names with ``keyFrom``: one key path,
or several whose values are hashed together. A request without a key is not de-duplicated.

The key is remembered in the database, in the transaction that stores the event
(``event_batch.py``: a unique index on ``(source_id, key)``), for ``windowSeconds``: so it holds
across every node, with or without Redis, and under concurrent duplicates exactly one event is
stored. (Replay windows use ``seen_ids``: they must refuse before anything is written.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from hookhub.relay import keypath

DEFAULT_WINDOW_SECONDS = 3600

# Where each provider puts the id of one delivery, the same on every retry of it; the first
# path with a value is the key.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "github": ("headers['X-GitHub-Delivery']",),
    "stripe": ("body.id",),
    "shopify": ("headers['X-Shopify-Webhook-Id']", "headers['X-Shopify-Event-Id']"),
    "twilio": ("headers['I-Twilio-Idempotency-Token']",),
    "slack": ("body.event_id",),
    "discord": ("body.id",),
    "alexa": ("body.request.requestId",),
    "svix": ("headers['svix-id']", "headers['webhook-id']"),
    "standard-webhooks": ("headers['webhook-id']", "headers['svix-id']"),
}
# Providers signed in Svix's scheme (Clerk, Resend, …) send the same ids.
SVIX_SCHEME_KEYS = PROVIDER_KEYS["svix"]


@dataclass(frozen=True, slots=True)
class Dedupe:
    """A source's compiled de-duplication: its key paths, all of them hashed together when
    ``together`` (keyFrom was a list), else the first with a value."""

    paths: tuple[keypath.KeyPath, ...]
    together: bool
    window_seconds: int

    def key(self, view: dict[str, Any]) -> str | None:
        """The request's de-duplication key (a hex digest), or None when it carries none."""
        values = [path.resolve(view) for path in self.paths]
        if self.together:
            if all(value is None for value in values):
                return None
            material = orjson.dumps(values, option=orjson.OPT_NON_STR_KEYS)
        else:
            found = next((value for value in values if value not in (None, "")), None)
            if found is None:
                return None
            material = found.encode() if isinstance(found, str) else orjson.dumps(found)
        return hashlib.sha256(material).hexdigest()


def provider_paths(provider: str, svix_scheme: bool) -> tuple[str, ...]:
    """The key paths of ``provider``'s delivery id; () when it has none."""
    return PROVIDER_KEYS.get(provider) or (SVIX_SCHEME_KEYS if svix_scheme else ())


def compile_dedupe(
    key_from: str | list[str] | None, window_seconds: int, provider_default: tuple[str, ...]
) -> Dedupe:
    if key_from is None:
        texts, together = provider_default, False
    elif isinstance(key_from, str):
        texts, together = (key_from,), False
    else:
        texts, together = tuple(key_from), True
    return Dedupe(tuple(keypath.parse(text) for text in texts), together, window_seconds)
