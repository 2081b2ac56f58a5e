"""Numbers (and times) beyond what a column or the JSON serialiser holds are refused at the edge
with a 422 naming the field, and nothing is written; JSON stored before that rule still reads
back."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from svix.api import ApplicationIn, ApplicationOut, EventTypeIn, Svix
from svix.exceptions import HTTPValidationError

from tests.support.databases import run_sql
from tests.support.server import ServerProcess

INT64_PLUS_ONE = 2**63  # one past what a SQLite INTEGER (or PostgreSQL bigint) holds
INT32_PLUS_ONE = 2**31  # one past a PostgreSQL integer column
BEYOND_ORJSON = 2**64  # one past what orjson, which writes every answer, takes
LONG_AGO = "2024-01-02 03:04:05"


def _send(client: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    """``json.dumps`` writes integers of any size exactly; a string body is sent as written."""
    if body is None:
        return client.request(method, path)
    content = body if isinstance(body, str) else json.dumps(body)
    return client.request(method, path, content=content, headers={"content-type": "application/json"})


def _refused(answer: httpx.Response, loc: list[Any]) -> str:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/json"
    detail = answer.json()["detail"]
    assert detail[0]["loc"] == loc, detail
    return detail[0]["msg"]


def test_integers_beyond_their_column_are_422_naming_the_field(
    api: httpx.Client, app: ApplicationOut
) -> None:
    ep = api.post(f"/api/v1/app/{app.id}/endpoint", json={"url": "https://example.com/h"}).json()["id"]
    base, url = f"/api/v1/app/{app.id}", "https://example.com/h"
    uid = f"never-{uuid.uuid4().hex[:8]}"
    since = "2020-01-01T00:00:00Z"
    cases: list[tuple[str, str, Any, list[Any]]] = [
        ("POST", "/api/v1/app", {"name": "n", "uid": uid, "throttleRate": INT64_PLUS_ONE}, ["throttleRate"]),
        ("POST", "/api/v1/app", {"name": "n", "uid": uid, "throttleRate": INT32_PLUS_ONE}, ["throttleRate"]),
        ("POST", "/api/v1/app", '{"name": "n", "rateLimit": 1e38}', ["rateLimit"]),
        ("PATCH", base, {"throttleRate": INT64_PLUS_ONE}, ["throttleRate"]),
        ("PUT", f"/api/v1/app/{uid}", {"name": "n", "rateLimit": INT32_PLUS_ONE}, ["rateLimit"]),
        ("POST", f"{base}/endpoint", {"url": url, "version": INT64_PLUS_ONE}, ["version"]),
        ("POST", f"{base}/endpoint", {"url": url, "throttleRate": INT32_PLUS_ONE}, ["throttleRate"]),
        ("PATCH", f"{base}/endpoint/{ep}", {"rateLimit": INT64_PLUS_ONE}, ["rateLimit"]),
        ("PUT", f"{base}/endpoint/{ep}", {"url": url, "version": INT32_PLUS_ONE}, ["version"]),
        # The message fast path, and an application created along with a message.
        (
            "POST",
            f"{base}/msg",
            {"eventType": "a", "payload": {}, "payloadRetentionPeriod": INT64_PLUS_ONE},
            ["payloadRetentionPeriod"],
        ),
        ("POST", f"{base}/msg", {"eventType": "a", "payload": {"n": BEYOND_ORJSON}}, ["payload"]),
        (
            "POST",
            f"/api/v1/app/{uid}/msg",
            {"eventType": "a", "payload": {}, "application": {"name": "n", "throttleRate": INT64_PLUS_ONE}},
            ["application", "throttleRate"],
        ),
        (
            "POST",
            f"{base}/endpoint/{ep}/bulk-replay",
            {"since": since, "statusCodeClass": INT64_PLUS_ONE},
            ["statusCodeClass"],
        ),
        ("POST", f"/api/v1/auth/app/{app.id}/expire-all", {"expiry": INT64_PLUS_ONE}, ["expiry"]),
        ("POST", f"/api/v1/auth/app-portal-access/{app.id}", {"expiry": INT64_PLUS_ONE}, ["expiry"]),
        (
            "POST",
            f"{base}/endpoint/{ep}/secret/rotate",
            {"gracePeriodSeconds": INT64_PLUS_ONE},
            ["gracePeriodSeconds"],
        ),
    ]
    for method, path, body, loc in cases:
        _refused(_send(api, method, path, body), ["body", *loc])
    _refused(_send(api, "GET", f"/api/v1/app?limit={INT64_PLUS_ONE}"), ["query", "limit"])
    attempts = f"{base}/attempt/endpoint/{ep}?status_code_class={INT64_PLUS_ONE}"
    _refused(_send(api, "GET", attempts), ["query", "status_code_class"])
    assert api.get(f"/api/v1/app/{uid}").status_code == 404
    assert api.get(f"{base}/endpoint").json()["data"][0]["version"] == 1
    assert api.get(f"{base}/msg").json()["data"] == []


def test_times_beyond_year_9999_in_utc_are_422_and_times_without_offset_are_utc(
    api: httpx.Client, app: ApplicationOut
) -> None:
    ep = api.post(f"/api/v1/app/{app.id}/endpoint", json={"url": "https://example.com/h"}).json()["id"]
    base = f"/api/v1/app/{app.id}"
    late, early = "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"  # no UTC equivalent
    for method, path, body, loc in [
        ("POST", f"{base}/msg", {"eventType": "a", "payload": {}, "deliverAt": late}, ["body", "deliverAt"]),
        ("POST", f"{base}/endpoint/{ep}/recover", {"since": early}, ["body", "since"]),
        ("GET", f"{base}/msg?before={late}", None, ["query", "before"]),
        ("GET", f"{base}/attempt/endpoint/{ep}?after={quote(early)}", None, ["query", "after"]),
        ("GET", f"{base}/endpoint/{ep}/stats?since={late}", None, ["query", "since"]),
    ]:
        _refused(_send(api, method, path, body), loc)
    assert api.get(f"{base}/msg").json()["data"] == []
    # Without an offset a time is UTC (it used to reach the database naive: a 500).
    naive = "2024-01-01T00:00:00"
    for path, params in [
        (f"{base}/attempt/endpoint/{ep}", {"before": naive}),
        (f"{base}/endpoint/{ep}/attempt-stats", {"since": naive}),
        (f"{base}/msg", {"after": naive}),
    ]:
        assert api.get(path, params=params).status_code == 200, path
    recovered = api.post(f"{base}/endpoint/{ep}/recover", json={"since": naive})
    assert recovered.status_code == 202, recovered.text


def test_the_sdk_gets_its_validation_error(svix: Svix) -> None:
    with pytest.raises(HTTPValidationError) as refused:
        svix.application.create(ApplicationIn(name="too fast", throttle_rate=INT64_PLUS_ONE))
    assert refused.value.status_code == 422


def test_stored_json_must_read_back(api: httpx.Client) -> None:
    """Schemas, source settings and config, test bodies: stored as sent, so refused when a
    number in them could not be given back exactly (before, the write committed and every
    read of it was a 500)."""
    name = f"big-{uuid.uuid4().hex[:8]}"
    schema = {"type": "integer", "maximum": BEYOND_ORJSON}
    created = _send(
        api, "POST", "/api/v1/event-type", {"name": name, "description": "d", "schemas": {"1": schema}}
    )
    msg = _refused(created, ["body", "schemas", "1"])
    assert "'/maximum'" in msg and "64 bits" in msg
    infinite = '{"description": "d", "schemas": {"1": {"maximum": 1e400}}}'
    _refused(_send(api, "PUT", f"/api/v1/event-type/{name}", infinite), ["body", "schemas", "1"])
    assert api.get(f"/api/v1/event-type/{name}").status_code == 404
    assert api.get("/api/v1/event-type?with_content=true&limit=250").status_code == 200

    sources = "/ingest/api/v1/source"
    for body, loc in [
        ({"name": "s", "config": {"secret": "x", "n": BEYOND_ORJSON}}, ["config"]),
        ({"name": "s", "settings": {"schema": schema}}, ["settings"]),
        ({"name": "s", "settings": {"response": {"body": {"n": BEYOND_ORJSON}}}}, ["settings"]),
        (
            {"name": "s", "settings": {"throttle": {"limit": INT64_PLUS_ONE}}},
            ["settings", "throttle", "limit"],
        ),
    ]:
        _refused(_send(api, "POST", sources, body), ["body", *loc])
    source = api.post(sources, json={"name": "s"}).json()
    test_request = _send(api, "POST", f"{sources}/{source['id']}/test", {"body": {"n": BEYOND_ORJSON}})
    _refused(test_request, ["body", "body"])
    assert api.get(f"{sources}/{source['id']}/event").json()["data"] == []


def test_json_stored_before_the_rule_still_reads_back(server: ServerProcess, svix: Svix) -> None:
    """An event type an older version stored with an integer orjson refuses is served anyway."""
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    schemas = json.dumps({"1": {"type": "integer", "maximum": BEYOND_ORJSON}})
    false = "0" if server.database_url.startswith("sqlite") else "false"
    run_sql(
        server.database_url,
        "INSERT INTO event_type (name, description, archived, deprecated, schemas, created_at, updated_at) "
        f"VALUES ('{name}', 'old', {false}, {false}, '{schemas}', '{LONG_AGO}', '{LONG_AGO}')",
    )
    assert svix.event_type.get(name).schemas == {"1": {"type": "integer", "maximum": BEYOND_ORJSON}}
    with httpx.Client(base_url=server.url, headers=server.headers) as api:
        listed = api.get("/api/v1/event-type", params={"with_content": "true", "limit": 250})
        assert listed.status_code == 200
        mine = [item for item in listed.json()["data"] if item["name"] == name]
        assert mine[0]["schemas"]["1"]["maximum"] == BEYOND_ORJSON
        assert mine[0]["createdAt"] == "2024-01-02T03:04:05+00:00"
    svix.event_type.create(EventTypeIn(name=f"{name}-new", description="still works"))
