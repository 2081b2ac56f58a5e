"""Encryption at rest of the secrets hookhub must be able to read back: endpoint signing keys,
source provider secrets, and the answers kept for Idempotency-Key replays (which may carry a
portal token, a source token or an endpoint secret); tokens and passwords are stored as hashes.

With ``HOOKHUB_ENCRYPTION_KEY`` set (Fernet keys, comma-separated, the newest first) the columns
typed ``EncryptedText`` / ``EncryptedJson`` / ``EncryptedBytes`` are written as
``enc:v1:<Fernet token>`` and read
back decrypted with whichever key encrypted them. Values written before a key was set stay
readable; ``hookhub secrets encrypt`` rewrites them all with the newest key, which is also how a
key is rotated (add the new key first, run it, then drop the old one).
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.dialects.postgresql import JSONB

PREFIX = "enc:v1:"
PREFIX_BYTES = PREFIX.encode()

_cipher: MultiFernet | None = None


class SecretsLocked(RuntimeError):
    """An encrypted value and no key that opens it."""


def parse_keys(value: str) -> list[Fernet]:
    """Fernet keys from the setting; ValueError naming the problem."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError("HOOKHUB_ENCRYPTION_KEY is empty")
    try:
        return [Fernet(key) for key in keys]
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "HOOKHUB_ENCRYPTION_KEY must hold Fernet keys (32 url-safe base64 bytes each; "
            "`hookhub secrets new-key` prints one)"
        ) from exc


def configure(value: str | None) -> None:
    """Use these keys (or none) for every database of this process."""
    global _cipher
    _cipher = MultiFernet(parse_keys(value)) if value else None


def encrypt(text: str) -> str:
    if _cipher is None:
        return text
    return PREFIX + _cipher.encrypt(text.encode()).decode("ascii")


def decrypt(text: str) -> str:
    if not text.startswith(PREFIX):
        return text  # written before a key was set
    return _open(text[len(PREFIX) :].encode("ascii")).decode()


def _open(token: bytes) -> bytes:
    if _cipher is None:
        raise SecretsLocked("a secret is encrypted: set HOOKHUB_ENCRYPTION_KEY to the key that encrypted it")
    try:
        return _cipher.decrypt(token)
    except InvalidToken:
        raise SecretsLocked("no key in HOOKHUB_ENCRYPTION_KEY opens a stored secret") from None


class EncryptedText(sa.TypeDecorator[str]):
    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedBytes(sa.TypeDecorator[bytes]):
    """Bytes, stored as ``enc:v1:<Fernet token>`` when a key is set."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None or _cipher is None:
            return value
        return PREFIX_BYTES + _cipher.encrypt(value)

    def process_result_value(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        value = bytes(value)
        if not value.startswith(PREFIX_BYTES):
            return value  # written before a key was set
        return _open(value[len(PREFIX_BYTES) :])


class EncryptedJson(sa.TypeDecorator[Any]):
    """JSON, stored as one encrypted JSON string when a key is set (still valid JSON / JSONB)."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else sa.JSON())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None or _cipher is None:
            return value
        return encrypt(orjson.dumps(value).decode())

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            return orjson.loads(decrypt(value))
        return value
