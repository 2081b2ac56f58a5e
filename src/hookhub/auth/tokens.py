"""Create and check API tokens. Only the sha256 of a token is stored.

A lookup by hash is itself constant-time with respect to the secret (the attacker does not
control the hash's bytes); the final comparison uses ``hmac.compare_digest`` anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hookhub import ids
from hookhub.errors import Forbidden, Unauthorized
from hookhub.store.db import Database
from hookhub.store.tables import api_token
from hookhub.store.types import utcnow

TOKEN_PREFIX = "sk_"
_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    token_hash: str
    app_id: str | None  # None: org-wide
    read_only: bool = False

    @property
    def is_org(self) -> bool:
        return self.app_id is None

    def require_org(self) -> None:
        if not self.is_org:
            raise Forbidden("This token is scoped to one application and cannot do this.")

    def require_write(self) -> None:
        if self.read_only:
            raise Forbidden("This access link is read-only.")

    def require_secrets(self) -> None:
        """Signing secrets are for whoever may change the endpoint, not for a read-only link."""
        if self.read_only:
            raise Forbidden("This access link is read-only: it cannot read signing secrets.")

    def require_app(self, app_id: str) -> None:
        if self.app_id is not None and self.app_id != app_id:
            raise Forbidden("This token does not give access to this application.")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(
    db: Database,
    *,
    app_id: str | None = None,
    description: str | None = None,
    expires_at: datetime | None = None,
    read_only: bool = False,
) -> str:
    token = generate_token()
    async with db.write() as conn:
        await conn.execute(
            api_token.insert().values(
                id=ids.new_id("tok"),
                token_hash=hash_token(token),
                app_id=app_id,
                description=description,
                created_at=utcnow(),
                expires_at=expires_at,
                read_only=read_only,
            )
        )
    return token


async def has_org_token(db: Database) -> bool:
    async with db.read() as conn:
        found = await conn.scalar(sa.select(api_token.c.id).where(api_token.c.app_id.is_(None)).limit(1))
    return found is not None


class TokenVerifier:
    """Resolves ``Authorization: Bearer …`` to a Principal, with a short in-process cache."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        # One database lookup per token at a time; concurrent requests wait for it (no stampede
        # when a busy token's cache entry expires).
        self._loading: dict[str, asyncio.Future[Principal | None]] = {}

    def cached(self, authorization: str | None) -> Principal | None:
        """The principal of a ``Bearer`` token verified moments ago, without awaiting; None
        when only ``authenticate`` can tell."""
        if authorization is None or not authorization.startswith("Bearer "):
            return None
        entry = self._fresh_entry(hash_token(authorization[7:].strip()), time.monotonic())
        return entry[1] if entry is not None else None

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("Missing Authorization header (expected 'Bearer <token>').")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization header must be 'Bearer <token>'.")
        digest = hash_token(token.strip())
        now = time.monotonic()
        entry = self._fresh_entry(digest, now)
        principal = entry[1] if entry is not None else await self._load_once(digest, now)
        if principal is None:
            raise Unauthorized("Invalid token.")
        return principal

    def _fresh_entry(self, digest: str, now: float) -> tuple[float, Principal | None] | None:
        """The cache entry (expiry, principal; None: no such token) if it has not expired."""
        entry = self._cache.get(digest)
        return entry if entry is not None and entry[0] > now else None

    async def _load_once(self, digest: str, now: float) -> Principal | None:
        pending = self._loading.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
        self._loading[digest] = future
        try:
            principal = await self._load(digest)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # mark retrieved: the waiters (if any) re-raise it
            else:
                future.cancel()
            raise
        finally:
            self._loading.pop(digest, None)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + _CACHE_SECONDS, principal)
        future.set_result(principal)
        return principal

    def forget(self, token_hash: str | None = None) -> None:
        if token_hash is None:
            self._cache.clear()
        else:
            self._cache.pop(token_hash, None)

    async def _load(self, digest: str) -> Principal | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        api_token.c.id,
                        api_token.c.token_hash,
                        api_token.c.app_id,
                        api_token.c.expires_at,
                        api_token.c.read_only,
                    ).where(api_token.c.token_hash == digest)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        if row.expires_at is not None and row.expires_at <= utcnow():
            return None
        return Principal(
            token_id=row.id, token_hash=row.token_hash, app_id=row.app_id, read_only=bool(row.read_only)
        )
