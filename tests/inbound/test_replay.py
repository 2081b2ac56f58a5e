"""Replay windows: a provider's signed timestamp must be recent (per source, default the provider's),
and a signed request is accepted once within its window, on every node (Redis) or in-process."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis
import stripe
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from standardwebhooks.webhooks import Webhook

from hookhub.inbound.seen_ids import REDIS_PREFIX, LocalSeenIds, RedisSeenIds
from hookhub.redis_link import RedisLink
from tests.inbound.alexa_pki import PKI
from tests.inbound.conftest import Sources
from tests.inbound.signers import TIMESTAMPED_TYPES, WHSEC, Signed, signer_for
from tests.relay.harness import redis_url
from tests.support.server import ServerProcess
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for


def send(signed: Signed) -> httpx.Response:
    return httpx.post(signed.url, content=signed.body, headers=signed.headers)


def assert_refused(response: httpx.Response, check: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "authentication_failed"
    assert f"signature ({check})" in response.json()["detail"], response.text


@pytest.mark.parametrize("source_type", TIMESTAMPED_TYPES)
def test_a_replayed_request_is_refused(
    sources: Sources, pki: PKI, cert_server: str, source_type: str
) -> None:
    signer = signer_for(source_type, pki, cert_server)
    source = sources.create(type=source_type, config=signer.config)
    signed = signer.signed(source["ingestUrl"], int(time.time()))
    assert send(signed).status_code == 200
    assert_refused(send(signed), "replayed")
    assert len(sources.events(source["id"])) == 1
    # Another signed request of the same source is not a replay.
    assert send(signer.signed(source["ingestUrl"], int(time.time()))).status_code == 200


def test_discord_refuses_an_old_signed_request(sources: Sources) -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    source = sources.create(type="discord", config={"publicKey": public})
    body = b'{"type": 2, "data": {"name": "hello"}}'
    year_ago = str(int(time.time()) - 365 * 86400)
    headers = {
        "Content-Type": "application/json",
        "X-Signature-Timestamp": year_ago,
        "X-Signature-Ed25519": key.sign(year_ago.encode() + body).hex(),
    }
    assert_refused(httpx.post(source["ingestUrl"], content=body, headers=headers), "x-signature-timestamp")
    assert sources.events(source["id"]) == []


def test_a_standard_webhooks_retry_is_no_replay(sources: Sources) -> None:
    """The sender's retry of a message keeps its ``webhook-id`` but is signed anew with a new
    timestamp: only the sender can make it, so it is accepted (de-duplicating it is another matter);
    the same id with the same timestamp is a replay."""
    source = sources.create(type="standard-webhooks", config={"secret": WHSEC})
    body = b'{"type": "invoice.paid"}'
    now = datetime.now(UTC)

    def attempt(when: datetime) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            "webhook-id": "msg_retried",
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(WHSEC).sign("msg_retried", when, body.decode()),
        }
        return httpx.post(source["ingestUrl"], content=body, headers=headers)

    assert attempt(now - timedelta(seconds=5)).status_code == 200
    assert_refused(attempt(now - timedelta(seconds=5)), "replayed")
    assert attempt(now).status_code == 200
    assert len(sources.events(source["id"])) == 2


def test_the_window_is_a_source_setting(
    api: httpx.Client, sources: Sources, pki: PKI, cert_server: str
) -> None:
    secret = "whsec_test_secret"
    ten_minutes_ago = int(time.time()) - 600

    def stripe_request(source: dict) -> httpx.Response:
        header = stripe.WebhookSignature.generate_signature_header("{}", secret, timestamp=ten_minutes_ago)
        return httpx.post(source["ingestUrl"], content=b"{}", headers={"Stripe-Signature": header})

    default = sources.create(type="stripe", config={"secret": secret})
    assert default["settings"]["replayWindowSeconds"] is None
    assert_refused(stripe_request(default), "stripe-timestamp")
    wide = sources.create(type="stripe", config={"secret": secret}, settings={"replayWindowSeconds": 3600})
    assert wide["settings"]["replayWindowSeconds"] == 3600
    assert stripe_request(wide).status_code == 200
    assert_refused(stripe_request(wide), "replayed")

    # Amazon's 150 s is a ceiling: a longer setting does not let an older Alexa request in.
    alexa = signer_for("alexa", pki, cert_server)
    source = sources.create(type="alexa", config=alexa.config, settings={"replayWindowSeconds": 3600})
    assert_refused(send(alexa.signed(source["ingestUrl"], int(time.time()) - 200)), "alexa-timestamp")

    body = {"name": "s", "type": "stripe", "config": {"secret": secret}}
    refused = api.post("/ingest/api/v1/source", json={**body, "settings": {"replayWindowSeconds": 0}})
    assert refused.status_code == 422, refused.text


def test_replays_are_refused_across_nodes_through_redis(
    make_server: Callable[..., ServerProcess], make_database: Callable[[], str], pki: PKI, cert_server: str
) -> None:
    database = make_database()
    env = {"HOOKHUB_REDIS_URL": redis_url(0)}
    first = make_server(env, database_url=database)
    second = make_server(env, database_url=database)
    signer = signer_for("svix", pki, cert_server)
    with first.client() as api:
        source = Sources(api).create(type="svix", config=signer.config)
        signed = signer.signed(source["ingestUrl"], int(time.time()))
        assert send(signed).status_code == 200  # the ingest URL is the first node's
        replay = signed.url.replace(first.url, second.url)
        assert_refused(httpx.post(replay, content=signed.body, headers=signed.headers), "replayed")
        assert len(Sources(api).events(source["id"])) == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_in_process_seen_ids_forget_after_their_ttl() -> None:
    clock = Clock()
    seen = LocalSeenIds(clock)
    assert await seen.first_seen("src_a", "k", 10)
    assert not await seen.first_seen("src_a", "k", 10)
    assert await seen.first_seen("src_b", "k", 10)  # scopes are apart
    clock.now += 10
    assert await seen.first_seen("src_a", "k", 10)
    await seen.forget("src_a", "k")
    assert await seen.first_seen("src_a", "k", 10)


async def test_redis_seen_ids_are_shared_and_expire() -> None:
    url = redis_url(0)
    scope, key = "src_" + secrets.token_hex(6), "msg_1.1700000000"
    link_a, link_b = RedisLink(url), RedisLink(url)
    node_a, node_b = RedisSeenIds(link_a), RedisSeenIds(link_b)
    admin = aioredis.from_url(url)
    try:
        assert await node_a.first_seen(scope, key, 60)
        assert not await node_b.first_seen(scope, key, 60)
        [name] = await admin.keys(f"{REDIS_PREFIX}{scope}:*")
        assert 0 < await admin.pttl(name) <= 60_000
        await node_a.forget(scope, key)
        assert await node_b.first_seen(scope, key, 60)
    finally:
        await admin.aclose()
        await link_a.close()
        await link_b.close()


async def test_keys_seen_while_redis_is_away_reach_the_other_nodes_when_it_is_back() -> None:
    scope = "src_" + secrets.token_hex(6)
    admin = aioredis.from_url(redis_url(0))
    with TcpProxy(6379) as proxy:
        link = RedisLink(redis_url(0).replace(":6379/", f":{proxy.port}/"))
        seen = RedisSeenIds(link)
        try:
            proxy.refuse()
            assert await seen.first_seen(scope, "k1", 60)  # remembered alone
            assert not await seen.first_seen(scope, "k1", 60)
            proxy.heal()
            # The link's probe hears Redis come back; this node writes what it remembered alone.
            await _eventually(lambda: admin.keys(f"{REDIS_PREFIX}{scope}:*"), "the outage's keys in Redis")
            other_link = RedisLink(redis_url(0))
            other_node = RedisSeenIds(other_link)
            assert not await other_node.first_seen(scope, "k1", 60)
            assert await seen.first_seen(scope, "k2", 60)
            assert not await other_node.first_seen(scope, "k2", 60)
            await other_link.close()
        finally:
            await link.close()
            await admin.aclose()


def test_a_replay_is_refused_through_a_redis_outage(
    make_server: Callable[..., ServerProcess], make_database: Callable[[], str], pki: PKI, cert_server: str
) -> None:
    """Alone, a node still refuses what it accepted; once Redis is back, so do the others."""
    database = make_database()
    signer = signer_for("stripe", pki, cert_server)
    with TcpProxy(6379) as proxy:
        env = {"HOOKHUB_REDIS_URL": redis_url(0).replace(":6379/", f":{proxy.port}/")}
        first = make_server(env, database_url=database)
        second = make_server(env, database_url=database)
        with first.client() as api:
            source = Sources(api).create(type="stripe", config=signer.config)
            signed = signer.signed(source["ingestUrl"], int(time.time()))
            proxy.refuse()
            assert send(signed).status_code == 200
            assert_refused(send(signed), "replayed")
            proxy.heal()
            for node in (first, second):
                wait_for(lambda node=node: _redis_ok(node), what="the node to hear Redis back")
            replay = signed.url.replace(first.url, second.url)
            assert_refused(httpx.post(replay, content=signed.body, headers=signed.headers), "replayed")
            assert len(Sources(api).events(source["id"])) == 1


def _redis_ok(node: ServerProcess) -> bool:
    health = httpx.get(f"{node.url}/api/v1/health").json()
    return health["components"].get("redis") == "ok"


async def _eventually(check: Callable[[], Awaitable[object]], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
