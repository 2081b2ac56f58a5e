"""The OpenAPI document holds as a contract, proven by tools nobody here wrote:

- ``openapi-python-client`` generates a client from ``/api/v1/openapi.json``; the test installs it
  from a temporary directory and drives a real flow with it (application, endpoint, message, the
  attempt at a receiver on this machine);
- schemathesis (``st run``, its stable interface) checks that what the server answers is what the
  document says: response schemas, status codes and content types, and never a 5xx.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.delivery.receiver import Receiver
from tests.support.openapi_seed import schemathesis_config, seed
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

CHECKS = "response_schema_conformance,status_code_conformance,content_type_conformance,not_a_server_error"
MAX_EXAMPLES = 2  # per operation and phase: bounded, the run takes about a minute


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@pytest.fixture
def generated_client(server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The package openapi-python-client writes from the served document, importable from tmp."""
    document = tmp_path / "openapi.json"
    document.write_text(httpx.get(f"{server.url}/api/v1/openapi.json").text)
    # No post hooks: the generator would run ruff on its output, which is no part of the contract.
    (tmp_path / "config.yml").write_text("package_name_override: hookhub_client\npost_hooks: []\n")
    done = subprocess.run(
        [
            _bin("openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--config",
            str(tmp_path / "config.yml"),
            "--output-path",
            str(tmp_path / "out"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout and "Error" not in done.stdout, done.stdout
    # With --meta none the output directory is the package itself.
    package_dir = tmp_path / "pkg"
    package_dir.mkdir()
    (tmp_path / "out").rename(package_dir / "hookhub_client")
    monkeypatch.syspath_prepend(str(package_dir))
    for name in [m for m in sys.modules if m == "hookhub_client" or m.startswith("hookhub_client.")]:
        del sys.modules[name]
    return importlib.import_module("hookhub_client")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_drives_a_real_flow(
    generated_client: Any, make_server: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    srv = make_server()
    client = generated_client.AuthenticatedClient(base_url=srv.url, token=srv.token)
    models = _module(generated_client, "models")
    ops = {
        name: _module(generated_client, f"api.{tag}.{name}")
        for tag, name in [
            ("application", "v1_application_create"),
            ("endpoint", "v1_endpoint_create"),
            ("message", "v1_message_create"),
            ("message_attempt", "v1_message_attempt_list_by_msg"),
            ("application", "v1_application_get"),
        ]
    }

    app = ops["v1_application_create"].sync(client=client, body=models.ApplicationIn(name="gen"))
    assert isinstance(app, models.ApplicationOut) and app.id.startswith("app_")
    assert ops["v1_application_get"].sync(app.id, client=client).name == "gen"

    endpoint = ops["v1_endpoint_create"].sync(
        app.id, client=client, body=models.EndpointCreate(url=receiver.url)
    )
    assert isinstance(endpoint, models.EndpointOut) and endpoint.url == receiver.url

    payload = models.MessageInPayload.from_dict({"order": 7})
    message = ops["v1_message_create"].sync(
        app.id, client=client, body=models.MessageIn(event_type="gen.flow", payload=payload)
    )
    assert isinstance(message, models.MessageOut) and message.payload.to_dict() == {"order": 7}
    (delivered,) = receiver.wait_for(1)
    assert json.loads(delivered.body) == {"order": 7}

    def attempts() -> list[Any]:
        page = ops["v1_message_attempt_list_by_msg"].sync(app.id, message.id, client=client)
        return page.data

    (attempt,) = wait_for(attempts, what="the attempt")
    assert isinstance(attempt, models.MessageAttemptOut)
    assert (attempt.endpoint_id, attempt.msg_id, attempt.response_status_code) == (
        endpoint.id,
        message.id,
        200,
    )

    # An error comes back as the documented {code, detail}.
    missing = ops["v1_application_get"].sync_detailed("app_" + "0" * 27, client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.HttpErrorOut) and missing.parsed.code == "not_found"


# The coverage phase skips methods an operation does not have: 405s are tested elsewhere
# (tests/delivery/test_svix_fidelity.py) and would double the run.
COVERAGE_PHASE = ("[phases.coverage]", "unexpected-methods = []", "")


def test_answers_conform_to_the_document(make_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    srv = make_server()
    with srv.client() as api:
        seeded = seed(api, "contract")
    (tmp_path / "schemathesis.toml").write_text(schemathesis_config(seeded, preamble=COVERAGE_PHASE))
    report = tmp_path / "report.json"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(tmp_path / "schemathesis.toml")),
        *("--no-color", "run", f"{srv.url}/api/v1/openapi.json"),
        *("-H", f"Authorization: Bearer {srv.token}"),
        *("--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", "16"),
        *("--phases", "examples,coverage,fuzzing", "--continue-on-failure", "--no-shrink"),
        *("--request-timeout", "30", "--report", "ndjson", "--report-ndjson-path", str(report)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20000:]
    document = httpx.get(f"{srv.url}/api/v1/openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    assert f"Selected: {operations}/{operations}" in output, output[-3000:]
    assert f"Tested: {operations}" in output, output[-3000:]
