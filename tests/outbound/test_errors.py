"""Every error answer is JSON ``{code, detail}``: unexpected exceptions (in a route, in the
middleware around the routes, on the message fast path), unknown paths and wrong methods."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from svix.api import ApplicationIn, MessageIn, Svix, SvixOptions
from svix.exceptions import HttpError

from tests.support.broken import fail_inserts
from tests.support.server import ServerProcess


def _internal_error(answer: httpx.Response) -> None:
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == "internal_error"


def test_an_unexpected_error_is_a_json_500_that_the_sdk_raises(
    make_server: Callable[..., ServerProcess],
) -> None:
    server = make_server()
    svix = Svix(server.token, SvixOptions(server_url=server.url, retry_schedule=[]))
    app = svix.application.create(ApplicationIn(name="errors"))
    fail_inserts(server.database_url, "message", "NEW.event_type = 'boom'")

    # The SDK sends an Idempotency-Key with every POST: the FastAPI route answers.
    with pytest.raises(HttpError) as failed:
        svix.message.create(app.id, MessageIn(event_type="boom", payload={}))
    assert failed.value.status_code == 500
    assert failed.value.to_dict()["code"] == "internal_error"
    # Without one, the message fast path answers.
    with server.client() as api:
        url = f"/api/v1/app/{app.id}/msg"
        _internal_error(api.post(url, json={"eventType": "boom", "payload": {}}))
        assert api.post(url, json={"eventType": "fine", "payload": {}}).status_code == 202

    # The Idempotency middleware, outside FastAPI, fails to store its key.
    fail_inserts(server.database_url, "idempotency_key")
    with pytest.raises(HttpError) as failed:
        svix.application.create(ApplicationIn(name="never stored"))
    assert failed.value.status_code == 500
    assert failed.value.to_dict()["code"] == "internal_error"
    assert svix.application.get(app.id).name == "errors"  # reads go on

    log = server.log()
    assert log.count("ERROR hookhub.api") == 3, log  # each failure logged once, with its traceback
    assert "Traceback" in log
    assert f"POST /api/v1/app/{app.id}/msg failed" in log


def test_unknown_paths_and_wrong_methods_answer_json(api: httpx.Client) -> None:
    for path in ("/nope", "/api/v1/nope", "/ui/static/nope.js", "/metrics/nope", "/listen/"):
        answer = api.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "not_found", path

    # FastAPI makes one route per method; Allow names them all.
    for method, path, allowed in [
        ("PUT", "/api/v1/app", "GET, POST"),
        ("POST", "/api/v1/app/some-app", "GET, PUT, PATCH, DELETE"),
        ("DELETE", "/api/v1/app/some-app/endpoint/some-ep/secret", "GET"),
        ("POST", "/ui/session", "GET, HEAD"),
        ("POST", "/listen/some-key", "GET, OPTIONS"),
        ("DELETE", "/metrics", "GET"),
    ]:
        answer = api.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.json()["code"] == "method_not_allowed", (method, path)
        assert answer.headers["allow"] == allowed, (method, path)
