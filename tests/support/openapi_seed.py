"""Real resources for schemathesis runs over hookhub's OpenAPI document, and the config that hands
their ids to the operations: each then reaches its handler rather than a 404.

DELETE operations get generated ids: deleting the seeded resources mid-run would send everything
after them back to 404s.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


def seed(api: httpx.Client, name: str) -> dict[str, dict[str, str]]:
    """One of each resource, named ``name``: path-template regex → path parameter values."""

    def made(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    event_type = f"{name}.event"
    made(api.post("/api/v1/event-type", json={"name": event_type, "description": "seeded"}))
    app = made(api.post("/api/v1/app", json={"name": name, "uid": f"{name}-app"}))["id"]
    endpoint = made(api.post(f"/api/v1/app/{app}/endpoint", json={"url": "https://example.com/hook"}))["id"]
    message = made(api.post(f"/api/v1/app/{app}/msg", json={"eventType": event_type, "payload": {}}))["id"]
    since = {"since": "2026-01-01T00:00:00Z"}
    task = made(api.post(f"/api/v1/app/{app}/endpoint/{endpoint}/recover", json=since))["id"]
    source = made(api.post("/ingest/api/v1/source", json={"name": name, "type": "generic-webhook"}))
    destination = made(
        api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": "https://example.com/in"})
    )["id"]
    assert httpx.post(source["ingestUrl"], json={"seeded": True}, timeout=30).status_code == 200
    event = made(api.get(f"/ingest/api/v1/source/{source['id']}/event"))["data"][0]["id"]
    return {
        r"^/api/v1/app/\{app_id\}": {"app_id": app, "endpoint_id": endpoint, "msg_id": message},
        r"^/api/v1/event-type/": {"name": event_type},
        r"^/api/v1/background-task/": {"task_id": task},
        r"^/api/v1/auth/": {"app_id": app},
        r"^/ingest/api/v1/source/": {
            "source_ref": source["id"],
            "source_id": source["id"],
            "endpoint_id": destination,
            "endpoint_ref": destination,
            "event_id": event,
        },
    }


def schemathesis_config(seeded: dict[str, dict[str, str]], *, preamble: tuple[str, ...] = ()) -> str:
    """schemathesis.toml: ``preamble`` lines, then the seeded ids for every operation but DELETE."""
    lines = list(preamble)
    for regex, values in seeded.items():
        parameters = ", ".join(f'"path.{key}" = {json.dumps(value)}' for key, value in values.items())
        lines += [
            "[[operations]]",
            f"include-path-regex = {json.dumps(regex)}",
            'exclude-method = "DELETE"',
            f"parameters = {{ {parameters} }}",
            "",
        ]
    return "\n".join(lines)
