"""BotGhost: API key header, a `variables` schema, and its status-code table."""

from __future__ import annotations

import httpx

from tests.inbound.conftest import Sources

VARIABLES = {
    "type": "object",
    "properties": {
        "variables": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "variable", "value"],
                "properties": {
                    "name": {"type": "string"},
                    "variable": {"type": "string", "pattern": r"^\{.*\}$"},
                    "value": {},
                },
            },
        }
    },
}


def botghost_source(sources: Sources, **settings: object) -> tuple[dict, str]:
    source = sources.create(
        name="botghost",
        settings={
            "auth": {"type": "header", "header": "Authorization"},
            "methods": ["POST"],
            "schema": VARIABLES,
            "eventTypeFrom": "path",
            **settings,
        },
    )
    return source, sources.auth_token(source["id"])


def test_status_code_table(sources: Sources) -> None:
    source, key = botghost_source(sources, throttle={"limit": 8, "periodSeconds": 60}, maxBodyBytes=200)
    url = source["ingestUrl"] + "/event-123"
    good = {"variables": [{"name": "User", "variable": "{user}", "value": "ada"}]}

    ok = httpx.post(url, json=good, headers={"Authorization": key})
    assert ok.status_code == 200

    bad_shapes = [
        {"variables": {"name": "not an array"}},
        {"variables": [{"name": "User", "value": "ada"}]},  # no `variable`
        {"variables": [{"name": "User", "variable": "user", "value": "ada"}]},  # not {…}
    ]
    for body in bad_shapes:
        response = httpx.post(url, json=body, headers={"Authorization": key})
        assert response.status_code == 400, body
        assert response.json()["code"] == "bad_request"
    unformatted = httpx.post(url, json=bad_shapes[2], headers={"Authorization": key}).json()["detail"]
    assert unformatted[0]["loc"] == ["body", "variables", "0", "variable"]

    assert httpx.post(url, json=good).status_code == 401
    assert httpx.post(url, json=good, headers={"Authorization": "regenerated-key"}).status_code == 401
    assert httpx.post(source["ingestUrl"] + "x/event-123", json=good).status_code == 404
    not_allowed = httpx.get(url, headers={"Authorization": key})
    assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "POST"
    assert httpx.post(url, content=b"x" * 201, headers={"Authorization": key}).status_code == 413
    # 8 per minute: the 200, four 400s, two 401s and the 413 counted (404 and 405 come first).
    throttled = httpx.post(url, json=good, headers={"Authorization": key})
    assert throttled.status_code == 429
    assert throttled.json() == {"code": "rate_limited", "detail": "Over rate limit, request throttled"}
    assert int(throttled.headers["retry-after"]) >= 1

    [event] = sources.events(source["id"])
    # The sub-path is the event (BotGhost's /webhook/{bot}/{event}): its type has no leading slash.
    assert event["path"] == "/event-123" and event["eventType"] == "event-123"


def test_a_post_without_a_body_passes_a_schema_of_optional_fields(sources: Sources) -> None:
    """BotGhost's variables are optional: its documented schema takes an empty POST."""
    source, key = botghost_source(sources)
    empty = httpx.post(source["ingestUrl"] + "/event-9", headers={"Authorization": key})
    assert empty.status_code == 200, empty.text
    required = sources.create(name="xtoys", settings={"schema": {"type": "object", "required": ["action"]}})
    missing = httpx.post(required["ingestUrl"])
    assert missing.status_code == 400
    assert missing.json()["detail"][0]["msg"] == "'action' is a required property"


def test_multiple_variables_and_deleted_source(sources: Sources, api: httpx.Client) -> None:
    source, key = botghost_source(sources)
    body = {
        "variables": [
            {"name": "A", "variable": "{a}", "value": 1},
            {"name": "B", "variable": "{b}", "value": "two"},
        ]
    }
    assert (
        httpx.post(source["ingestUrl"] + "/e", json=body, headers={"Authorization": key}).status_code == 200
    )
    assert api.delete(f"/ingest/api/v1/source/{source['id']}").status_code == 204
    gone = httpx.post(source["ingestUrl"] + "/e", json=body, headers={"Authorization": key})
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"
