"""``/api/v1/openapi.json`` is a contract: every operation says what it takes and what it answers.

Walks the served document, so a route added without its parameters, body or answers fails here.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess

# POST/PUT/PATCH operations that take no body (Svix's too); any other must declare one.
BODILESS = {
    ("post", "/api/v1/app/{app_id}/msg/expunge-all-contents"),
    ("post", "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/ingest/api/v1/source/{source_ref}/auth-token/rotate"),
    ("post", "/ingest/api/v1/source/{source_ref}/event/{event_id}/replay"),
}
# Operations anyone may call.
PUBLIC = {
    ("get", "/api/v1/health"),
    ("get", "/api/v1/health/ping"),
    ("head", "/api/v1/health/ping"),
    ("post", "/ingest/api/v1/reply/{replyId}"),  # the reply id is the capability
}
ERROR = "#/components/schemas/HttpErrorOut"
VALIDATION = "#/components/schemas/HttpValidationErrorOut"


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def _schema_of(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_every_operation_is_documented_completely(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) >= 75
    problems: list[str] = []
    ids = [op.get("operationId") for _, _, op in operations]
    problems += [f"operationId {i} is not unique" for i in set(ids) if ids.count(i) > 1]
    problems += [
        f"operationId {i} is not v1.<tag>.<name>" for i in ids if not re.fullmatch(r"v1\.[a-z-]+\.[a-z-]+", i)
    ]
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        if not op.get("operationId"):
            problems.append(f"{where}: no operationId")
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        for name in re.findall(r"{(\w+)}", path):
            if name not in declared:
                problems.append(f"{where}: path parameter {name} not declared")
        responses = op["responses"]
        successes = [code for code in responses if code.startswith("2")]
        if not successes:
            problems.append(f"{where}: no success answer")
        for code in successes:
            schema = responses[code].get("content", {}).get("application/json", {}).get("schema")
            if code != "204" and not schema:
                problems.append(f"{where}: {code} has no schema")
            if code == "204" and responses[code].get("content"):
                problems.append(f"{where}: 204 with content")
        if method in {"post", "put", "patch"} and (method, path) not in BODILESS:
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if not body:
                problems.append(f"{where}: no request body schema")
        if (method, path) not in PUBLIC:
            if op.get("security") != [{"HTTPBearer": []}]:
                problems.append(f"{where}: no bearer security")
            problems += [f"{where}: no {code}" for code in ("401", "403") if code not in responses]
        if "{" in path and "404" not in responses:
            problems.append(f"{where}: no 404")
        if (op.get("parameters") or "requestBody" in op) and "422" not in responses:
            problems.append(f"{where}: no 422")
        if "requestBody" in op:
            problems += [f"{where}: no {code}" for code in ("400", "413", "415") if code not in responses]
        for code, answer in responses.items():
            if code[0] in "45" and not (method == "get" and path == "/api/v1/health"):
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                expected = VALIDATION if code == "422" else ERROR
                if schema.get("$ref") != expected:
                    problems.append(f"{where}: {code} is not {expected}")
    assert not problems, "\n".join(problems)


def test_error_schemas_are_code_and_detail_with_string_locations(document: dict[str, Any]) -> None:
    error = _schema_of(document, ERROR)
    assert set(error["required"]) == {"code", "detail"}
    assert error["properties"]["detail"]["type"] == "string"
    validation = _schema_of(document, VALIDATION)
    item = _schema_of(document, validation["properties"]["detail"]["items"]["$ref"])
    assert item["properties"]["loc"]["items"] == {"type": "string"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {"type": "http", "scheme": "bearer"}


def test_hand_parsed_bodies_name_their_models(document: dict[str, Any]) -> None:
    """The bodies routes parse themselves point at real component schemas."""
    paths = document["paths"]
    expected = {
        ("/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover", "post"): "RecoverIn",
        ("/api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-missing", "post"): "RecoverIn",
        ("/api/v1/app/{app_id}/endpoint/{endpoint_id}/bulk-replay", "post"): "BulkReplayIn",
        ("/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example", "post"): "EventExampleIn",
        ("/api/v1/app/{app_id}/msg/precheck/active", "post"): "MessagePrecheckIn",
        ("/ingest/api/v1/source", "post"): "SourceIn",
        ("/ingest/api/v1/source/{source_ref}", "put"): "SourceIn",
    }
    for (path, method), model in expected.items():
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/" + model) or model in str(schema), (path, schema)
        for ref in re.findall(r"#/components/schemas/(\w+)", str(schema)):
            assert ref in document["components"]["schemas"], ref
    for ref in set(re.findall(r"#/components/schemas/([\w-]+)", str(document))):
        assert ref in document["components"]["schemas"], f"dangling $ref {ref}"
