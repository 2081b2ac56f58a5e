"""The resources a run needs, created through hookhub's public API; a 404 means "not built yet"."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from bench.figures import NotAvailable

# A high limit so that the default source throttle (100 per 10 s) does not cap the load test.
UNTHROTTLED = {"throttle": {"limit": 1_000_000, "periodSeconds": 1}}

MESSAGE_BODY = b'{"eventType":"bench.event","payload":{"action":"setintensity","intensity":50}}'
INGEST_BODY = b'{"action":"setintensity","intensity":50,"device":{"id":"dev-1"}}'


def _check(response: httpx.Response, what: str) -> dict:
    if response.status_code == 404:
        raise NotAvailable()
    if response.status_code >= 400:
        raise NotAvailable(f"n/a ({what}: HTTP {response.status_code} {response.text[:120]})")
    return response.json()


@dataclass(frozen=True, slots=True)
class Outbound:
    app_id: str
    msg_path: str


def app_with_endpoint(client: httpx.Client, receiver_url: str) -> Outbound:
    """An application with one endpoint at the loopback receiver; probes the message route."""
    app = _check(client.post("/api/v1/app/", json={"name": "bench"}), "create app")
    app_id = app["id"]
    _check(
        client.post(
            f"/api/v1/app/{app_id}/endpoint/",
            json={"url": f"{receiver_url}/hook", "description": "bench receiver"},
        ),
        "create endpoint",
    )
    msg_path = f"/api/v1/app/{app_id}/msg/"
    _check(client.post(msg_path, content=MESSAGE_BODY, headers={"content-type": "application/json"}), "msg")
    return Outbound(app_id=app_id, msg_path=msg_path)


# A small Svix-style transformation: reshape the payload, add a header.
TRANSFORMATION = """function handler(webhook) {
  webhook.payload = {kind: webhook.eventType, data: webhook.payload};
  webhook.headers["x-transformed"] = "1";
  return webhook;
}"""


def transform_endpoints(client: httpx.Client, app_id: str) -> None:
    """Give every endpoint of the application ``TRANSFORMATION``, switched on."""
    endpoints = _check(client.get(f"/api/v1/app/{app_id}/endpoint/"), "list endpoints")["data"]
    for endpoint in endpoints:
        answer = client.patch(
            f"/api/v1/app/{app_id}/endpoint/{endpoint['id']}/transformation",
            json={"code": TRANSFORMATION, "enabled": True},
        )
        if answer.status_code == 404:
            raise NotAvailable("no transformations in this version")
        answer.raise_for_status()


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    ingest_path: str
    unthrottled: bool

    @property
    def key(self) -> str:
        return self.ingest_path.rstrip("/").rpartition("/")[2]


def source(client: httpx.Client, name: str) -> Source:
    """A source without throttling (falls back to the defaults if settings are refused)."""
    path = "/ingest/api/v1/source/"
    response = client.post(path, json={"name": name, "settings": UNTHROTTLED})
    unthrottled = response.status_code < 400
    if response.status_code != 404 and not unthrottled:
        response = client.post(path, json={"name": name})
    created = _check(response, "create source")
    ingest_path = urlsplit(created["ingestUrl"]).path
    probe = httpx.post(
        str(client.base_url).rstrip("/") + ingest_path,
        content=INGEST_BODY,
        headers={"content-type": "application/json"},
    )
    if probe.status_code == 404:
        raise NotAvailable()
    return Source(id=created["id"], ingest_path=ingest_path, unthrottled=unthrottled)
