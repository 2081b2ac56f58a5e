"""An event's ``sourceIp``: the peer, or, when the peer is a trusted proxy, the right-most
``X-Forwarded-For`` entry that is not a trusted proxy (``HOOKHUB_TRUSTED_PROXIES``)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError
from websockets.sync.client import connect

from hookhub.config import Settings
from hookhub.http.client_address import ClientAddress, parse_trusted
from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for


def _source_ips(api: httpx.Client, source_id: str) -> list[str]:
    events = api.get(f"/ingest/api/v1/source/{source_id}/event", params={"limit": 50}).json()["data"]
    return [event["sourceIp"] for event in reversed(events)]  # oldest first


def test_a_local_proxy_names_the_client(sources: Sources, api: httpx.Client) -> None:
    source = sources.create(name="behind a proxy")
    url = source["ingestUrl"]
    sent = [
        {},
        {"X-Forwarded-For": "203.0.113.7"},
        {"X-Forwarded-For": "203.0.113.7, 198.51.100.2"},  # the last untrusted hop wins
        {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"},  # a trusted hop is skipped
        {"X-Forwarded-For": "127.0.0.1"},  # all trusted: the first
    ]
    for headers in sent:
        assert httpx.post(url, json={"n": 1}, headers=headers).status_code == 200
    with connect(url.replace("http://", "ws://"), additional_headers={"X-Forwarded-For": "192.0.2.9"}) as ws:
        ws.send('{"over": "websocket"}')
    expected = ["127.0.0.1", "203.0.113.7", "198.51.100.2", "203.0.113.7", "127.0.0.1", "192.0.2.9"]

    def all_stored() -> list[str] | None:
        ips = _source_ips(api, source["id"])
        return ips if len(ips) == len(expected) else None

    assert wait_for(all_stored, what="the websocket event") == expected


def test_an_untrusted_peer_cannot_choose_its_address(make_server: Callable[..., ServerProcess]) -> None:
    server = make_server({"HOOKHUB_TRUSTED_PROXIES": "10.0.0.0/8"})
    with server.client() as api:
        source = Sources(api).create(name="no local proxy")
        response = httpx.post(source["ingestUrl"], json={}, headers={"X-Forwarded-For": "203.0.113.7"})
        assert response.status_code == 200
        assert _source_ips(api, source["id"]) == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        ("*", "192.0.2.1", "203.0.113.7, 198.51.100.2", "203.0.113.7"),  # trust all: the first entry
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.7, 10.9.9.9", "203.0.113.7"),
        ("10.0.0.0/8", "10.1.2.3", "not-an-address", "not-an-address"),  # kept as sent, like uvicorn
        ("10.0.0.0/8", "192.0.2.1", "203.0.113.7", "192.0.2.1"),
        ("::1", "::1", "2001:db8::1", "2001:db8::1"),
        ("", "127.0.0.1", "203.0.113.7", "127.0.0.1"),  # nothing trusted
        ("127.0.0.1", None, "203.0.113.7", None),  # no peer (not a socket)
    ],
)
def test_the_rule(trusted: str, peer: str | None, forwarded_for: str, client: str | None) -> None:
    assert ClientAddress(parse_trusted(trusted)).of(peer, forwarded_for) == client


def test_a_malformed_setting_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings(trusted_proxies="127.0.0.1,localhost")
