"""schemathesis over hookhub's own OpenAPI document (``/api/v1/openapi.json`` of a running server):
every documented operation, with schema-valid and schema-violating data, through schemathesis'
examples, coverage, fuzzing and stateful phases: never a 5xx, and the checks that hold do hold.

schemathesis runs as its command line (``st run``), its stable interface, with a JSON report that
the test reads (its pytest integration does not run under this pytest). Operations other than
DELETE get the ids of real resources made first (``tests/support/openapi_seed.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tests.support.openapi_seed import schemathesis_config, seed
from tests.support.server import ServerProcess

MAX_EXAMPLES = 5  # per operation, fuzzing and stateful; the coverage phase makes its own (~3,300)
METHODS = ("get", "head", "put", "post", "delete", "patch")

# schemathesis checks left out, and why; every other check runs ("--checks all").
EXCLUDED_CHECKS = {
    # The document leaves out constraints the models check (URLs, header names, required bodies).
    "positive_data_acceptance": "the document leaves out constraints the server checks",
    # pydantic's lax mode reads false as 0, 0 as false and 0.5 as a Unix time: accepted, not 5xx.
    "negative_data_rejection": "lax coercion of scalars (false -> 0, 0 -> false, 0.5 -> a time)",
    # DELETE /event-type/{name} archives the type (Svix semantics); it stays readable.
    "use_after_free": "a deleted event type is archived and stays readable, as in Svix",
    # /msg/expunge-all-contents is also a message id for GET /msg/{msg_id}: Allow lists both.
    "allow_header_conformance": "/msg/expunge-all-contents also matches GET /msg/{msg_id}",
    # schemathesis learns the seeded ids from list answers and deletes them mid-run; an operation
    # given a seeded id after that is a 404 the check blames on an unrelated create.
    "ensure_resource_availability": "the run deletes the seeded resources it was given",
}


def declare_path_parameters(document: dict[str, Any]) -> int:
    """Declare, as strings, path parameters an operation uses without declaring them (without them
    schemathesis cannot test the operation at all). Returns how many were missing."""
    added = 0
    for path, item in document["paths"].items():
        shared = {p["name"] for p in item.get("parameters", []) if p.get("in") == "path"}
        for method, operation in item.items():
            if method not in METHODS:
                continue
            declared = shared | {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            for name in re.findall(r"\{(\w+)\}", path):
                if name not in declared:
                    parameter = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    operation.setdefault("parameters", []).append(parameter)
                    added += 1
    return added


@pytest.fixture(scope="module")
def report(
    hostile_server: ServerProcess, admin: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """One ``st run`` over the whole document; its JSON report, its output and the document."""
    work = tmp_path_factory.mktemp("schemathesis")
    document = admin.get("/api/v1/openapi.json").json()
    assert declare_path_parameters(document) == 0  # the document declares them all (test_openapi_document)
    (work / "openapi.json").write_text(json.dumps(document))
    (work / "schemathesis.toml").write_text(schemathesis_config(seed(admin, "seeded")))
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(work / "schemathesis.toml")),
        *("--no-color", "run", str(work / "openapi.json"), "--url", hostile_server.url),
        *("-H", f"Authorization: Bearer {hostile_server.token}"),
        *("--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS)),
        *("--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(MAX_EXAMPLES)),
        # One worker: CPython 3.11's ast module keeps its recursion depth in shared state, and
        # Hypothesis parsing lambdas on two threads at once trips over it.
        *("--workers", "1", "--seed", "20261203", "--request-timeout", "30"),
        *("--report", "json", "--report-json-path", str(work / "report.json")),
    ]
    run = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert (work / "report.json").exists(), output
    return json.loads((work / "report.json").read_text()), output, document


def test_no_operation_answers_a_server_error(report: Any, hostile_server: ServerProcess) -> None:
    result, output, document = report
    documented = sum(1 for item in document["paths"].values() for method in item if method in METHODS)
    print(
        f"\nschemathesis: {result['test_cases']['generated']} test cases over "
        f"{result['operations']['tested']}/{documented} operations in {result['running_time']:.0f} s"
    )
    assert result["complete"] and result["stop_reason"] == "completed", output
    assert result["operations"]["tested"] == documented, output
    assert result["failures"] == [], output
    assert result["errors"] == [], output
    assert result["exit_code"] == 0, output
    # No unexpected exception either (each is logged, and answered as a 500 or an ingest 503).
    assert "Traceback" not in hostile_server.log()
