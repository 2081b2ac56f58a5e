"""Encryption at rest: with HOOKHUB_ENCRYPTION_KEY the stored endpoint secrets, their custom headers
and source provider secrets are ciphertext, yet signing, verifying and the API work as before;
secrets stored before the key stay readable and ``hookhub secrets encrypt`` rewrites them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import standardwebhooks
from cryptography.fernet import Fernet
from svix.api import MessageIn

from hookhub.store.db import Database
from tests.delivery.conftest import app_with_endpoint, svix_client
from tests.delivery.receiver import Receiver
from tests.support.server import ServerProcess, hookhub_command

KEY = Fernet.generate_key().decode()


def raw(database_url: str, sql: str, **params: Any) -> Any:
    """A value as the database holds it, read without hookhub's column types."""

    async def read() -> Any:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return (await conn.execute(sa.text(sql), params)).scalar_one()
        finally:
            await db.close()

    return asyncio.run(read())


@pytest.fixture
def encrypted(make_server: Callable[..., ServerProcess]) -> ServerProcess:
    return make_server({"HOOKHUB_ENCRYPTION_KEY": KEY})


def test_stored_secrets_are_ciphertext_and_deliveries_still_verify(
    encrypted: ServerProcess, make_receiver: Callable[..., Receiver]
) -> None:
    receiver = make_receiver()
    client = svix_client(encrypted)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    with encrypted.client() as api:
        put = api.put(
            f"/api/v1/app/{app_id}/endpoint/{ep_id}/headers",
            json={"headers": {"X-Api-Key": "receiver-credential"}},
        )
    assert put.status_code == 204, put.text
    secret = client.endpoint.get_secret(app_id, ep_id).key
    stored = raw(encrypted.database_url, "SELECT secret FROM endpoint WHERE id = :id", id=ep_id)
    assert stored.startswith("enc:v1:") and secret not in stored
    headers = str(raw(encrypted.database_url, "SELECT headers FROM endpoint WHERE id = :id", id=ep_id))
    assert "receiver-credential" not in headers
    client.message.create(app_id, MessageIn(event_type="secret.test", payload={"n": 1}))
    [got] = receiver.wait_for(1)
    standardwebhooks.Webhook(secret).verify(got.body, got.headers, json_parse=False)
    assert got.headers["x-api-key"] == "receiver-credential"


def test_provider_secrets_are_ciphertext_and_signatures_still_verify(encrypted: ServerProcess) -> None:
    with encrypted.client() as api:
        created = api.post(
            "/ingest/api/v1/source/",
            json={"name": "gh", "type": "github", "config": {"secret": "gh-secret-at-rest"}},
        )
    assert created.status_code == 201, created.text
    source = created.json()
    stored = str(raw(encrypted.database_url, "SELECT config FROM source WHERE id = :id", id=source["id"]))
    assert "gh-secret-at-rest" not in stored and "enc:v1:" in stored
    with encrypted.client() as api:
        relay_secret = api.get(f"/ingest/api/v1/source/{source['id']}/relay-secret").json()["key"]
    stored = str(
        raw(encrypted.database_url, "SELECT relay_secret FROM source WHERE id = :id", id=source["id"])
    )
    assert relay_secret.startswith("whsec_") and relay_secret not in stored and "enc:v1:" in stored
    body = b'{"zen": "Encrypted at rest."}'
    signature = "sha256=" + hmac.new(b"gh-secret-at-rest", body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-github-event": "ping", "x-hub-signature-256": signature}
    assert httpx.post(source["ingestUrl"], content=body, headers=headers).status_code == 200
    assert httpx.post(source["ingestUrl"], content=body + b" ", headers=headers).status_code == 401


def test_secrets_from_before_the_key_stay_readable_and_encrypt_rewrites_them(
    make_server: Callable[..., ServerProcess], make_receiver: Callable[..., Receiver]
) -> None:
    receiver = make_receiver()
    plain = make_server()
    client = svix_client(plain)
    app_id, ep_id = app_with_endpoint(client, receiver.url)
    secret = client.endpoint.get_secret(app_id, ep_id).key
    assert raw(plain.database_url, "SELECT secret FROM endpoint WHERE id = :id", id=ep_id) == secret
    plain.stop()
    keyed = make_server({"HOOKHUB_ENCRYPTION_KEY": KEY}, database_url=plain.database_url)
    client = svix_client(keyed)
    assert client.endpoint.get_secret(app_id, ep_id).key == secret  # plain text still read
    done = subprocess.run(
        hookhub_command("secrets", "encrypt"), env=keyed.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "1 endpoint rows" in done.stdout
    assert raw(keyed.database_url, "SELECT secret FROM endpoint WHERE id = :id", id=ep_id).startswith(
        "enc:v1:"
    )
    assert client.endpoint.get_secret(app_id, ep_id).key == secret
    client.message.create(app_id, MessageIn(event_type="secret.test", payload={"n": 2}))
    [got] = receiver.wait_for(1)
    standardwebhooks.Webhook(secret).verify(got.body, got.headers, json_parse=False)


def test_a_malformed_key_is_refused_at_start(tmp_path: Path) -> None:
    env = {
        "HOOKHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "HOOKHUB_ENCRYPTION_KEY": "not-a-fernet-key",
    }
    done = subprocess.run(
        [sys.executable, "-m", "hookhub.cli", "migrate"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Fernet keys" in done.stdout + done.stderr


def test_keys_rotate_newest_first() -> None:
    """Add the new key in front, rewrite (``hookhub secrets encrypt``), then drop the old one."""
    from hookhub.store import secrets

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    try:
        secrets.configure(old)
        under_old = secrets.encrypt("whsec_rotating")
        secrets.configure(f"{new},{old}")
        assert secrets.decrypt(under_old) == "whsec_rotating"
        under_new = secrets.encrypt("whsec_rotating")
        secrets.configure(new)
        assert secrets.decrypt(under_new) == "whsec_rotating"
        with pytest.raises(secrets.SecretsLocked, match="no key"):
            secrets.decrypt(under_old)
        secrets.configure(None)
        with pytest.raises(secrets.SecretsLocked, match="set HOOKHUB_ENCRYPTION_KEY"):
            secrets.decrypt(under_new)
        assert secrets.decrypt("whsec_plain") == "whsec_plain"
    finally:
        secrets.configure(None)


def test_a_key_that_opens_no_stored_secret_stops_the_start(
    encrypted: ServerProcess, make_server: Callable[..., ServerProcess]
) -> None:
    client = svix_client(encrypted)
    app_with_endpoint(client, "http://127.0.0.1:9/never")
    encrypted.stop()
    with pytest.raises(RuntimeError, match="no key in HOOKHUB_ENCRYPTION_KEY opens a stored secret"):
        make_server(
            {"HOOKHUB_ENCRYPTION_KEY": Fernet.generate_key().decode()}, database_url=encrypted.database_url
        )
    with pytest.raises(RuntimeError, match="set HOOKHUB_ENCRYPTION_KEY"):
        make_server(database_url=encrypted.database_url)


def stored_answers(database_url: str) -> list[bytes]:
    """The Idempotency-Key answers as the database holds them."""

    async def read() -> list[bytes]:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                query = sa.text("SELECT body FROM idempotency_key WHERE state = 'done'")
                return [bytes(body) for body in (await conn.execute(query)).scalars()]
        finally:
            await db.close()

    return asyncio.run(read())


def test_idempotent_answers_are_ciphertext_and_rotate_with_the_key(
    encrypted: ServerProcess, make_server: Callable[..., ServerProcess]
) -> None:
    """A stored answer may hold a portal token (or a source token, an endpoint secret): with a
    key it is stored like the secrets, and ``hookhub secrets encrypt`` rewrites it too."""
    client = svix_client(encrypted)
    app_id, _ = app_with_endpoint(client, "http://127.0.0.1:9/never")
    path, key = f"/api/v1/auth/app-portal-access/{app_id}", {"Idempotency-Key": "portal-link-1"}
    with encrypted.client() as api:
        first = api.post(path, json={}, headers=key)
        assert first.status_code == 200, first.text
        assert api.post(path, json={}, headers=key).content == first.content
    token = first.json()["token"].encode()
    answers = stored_answers(encrypted.database_url)
    assert answers and all(body.startswith(b"enc:v1:") for body in answers)
    assert not [body for body in answers if token in body]

    encrypted.stop()
    newer = Fernet.generate_key().decode()
    rotating = {**encrypted.env, "HOOKHUB_ENCRYPTION_KEY": f"{newer},{KEY}"}
    done = subprocess.run(
        hookhub_command("secrets", "encrypt"), env=rotating, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(answers)} idempotency_key rows" in done.stdout
    rotated = make_server({"HOOKHUB_ENCRYPTION_KEY": newer}, database_url=encrypted.database_url)
    with httpx.Client(base_url=rotated.url, headers=encrypted.headers) as api:  # the same token
        replay = api.post(path, json={}, headers=key)
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
