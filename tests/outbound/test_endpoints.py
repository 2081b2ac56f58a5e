"""Endpoints through the official svix SDK: CRUD, secrets and rotation, headers, bad input."""

from __future__ import annotations

import httpx
import pytest
from svix.api import (
    ApplicationOut,
    EndpointHeadersIn,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointListOptions,
    EndpointPatch,
    EndpointSecretRotateIn,
    EndpointUpsertIn,
    Svix,
)
from svix.exceptions import HttpError

from tests.support.server import ServerProcess


def test_endpoint_crud_with_the_sdk(svix: Svix, app: ApplicationOut) -> None:
    created = svix.endpoint.create(
        app.id,
        EndpointIn(
            url="https://example.com/hook",
            description="orders",
            uid="orders-ep",
            event_types=["order.created"],
            channels=["eu"],
            metadata={"team": "a"},
            throttle_rate=5,
        ),
    )
    assert created.id.startswith("ep_")
    assert created.event_types == ["order.created"]
    assert created.channels == ["eu"]
    assert created.throttle_rate == 5

    by_uid = svix.endpoint.get(app.uid, "orders-ep")
    assert by_uid.id == created.id and by_uid.description == "orders"

    patched = svix.endpoint.patch(app.id, created.id, EndpointPatch(disabled=True, event_types=None))
    assert patched.disabled is True
    assert patched.event_types is None
    assert patched.url == "https://example.com/hook"

    replaced = svix.endpoint.upsert(app.id, created.id, EndpointUpsertIn(url="http://example.org/x"))
    assert replaced.url == "http://example.org/x"
    assert replaced.description == "" and replaced.channels is None and replaced.disabled is False

    listed = svix.endpoint.list(app.id)
    assert [ep.id for ep in listed.data] == [created.id]

    svix.endpoint.delete(app.id, created.id)
    with pytest.raises(HttpError) as missing:
        svix.endpoint.get(app.id, created.id)
    assert missing.value.status_code == 404


def test_put_on_unknown_uid_creates_the_endpoint(svix: Svix, app: ApplicationOut) -> None:
    made = svix.endpoint.upsert(app.id, "made-by-put", EndpointUpsertIn(url="https://example.com/p"))
    assert made.uid == "made-by-put"
    assert svix.endpoint.get(app.id, "made-by-put").id == made.id


def test_filter_types_field_is_accepted_too(api: httpx.Client, app: ApplicationOut) -> None:
    response = api.post(
        f"/api/v1/app/{app.id}/endpoint",
        json={"url": "https://example.com/a", "filterTypes": ["a.b"], "rateLimit": 3, "version": 2},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filterTypes"] == ["a.b"] and body["eventTypes"] == ["a.b"]
    assert body["throttleRate"] == 3 and body["version"] == 2


def test_endpoint_list_paginates(svix: Svix, app: ApplicationOut) -> None:
    made = [svix.endpoint.create(app.id, EndpointIn(url=f"https://example.com/{i}")).id for i in range(5)]
    seen: list[str] = []
    iterator = None
    for _ in range(10):
        page = svix.endpoint.list(app.id, EndpointListOptions(limit=2, iterator=iterator))
        seen += [ep.id for ep in page.data]
        iterator = page.iterator
        if page.done:
            break
    assert seen == made


def test_secret_given_generated_and_rotated(svix: Svix, app: ApplicationOut) -> None:
    given = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3"
    ep = svix.endpoint.create(app.id, EndpointIn(url="https://example.com/s", secret=given))
    assert svix.endpoint.get_secret(app.id, ep.id).key == given

    generated = svix.endpoint.create(app.id, EndpointIn(url="https://example.com/g"))
    key = svix.endpoint.get_secret(app.id, generated.id).key
    assert key.startswith("whsec_") and len(key) > 30

    rotated = svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    assert rotated.key != given
    assert svix.endpoint.get_secret(app.id, ep.id).key == rotated.key

    chosen = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0"
    assert svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn(key=chosen)).key == chosen


def test_headers_set_patch_and_redaction(svix: Svix, app: ApplicationOut) -> None:
    ep = svix.endpoint.create(app.id, EndpointIn(url="https://example.com/h", headers={"X-Team": "a"}))
    assert svix.endpoint.get_headers(app.id, ep.id).headers == {"X-Team": "a"}

    credentials = {
        "Authorization": "b",
        "X-Auth": "c",
        "Api-Key": "d",
        "X-Session-Id": "e",
        "X-Password": "f",
    }
    svix.endpoint.set_headers(app.id, ep.id, EndpointHeadersIn(headers={"X-One": "1", **credentials}))
    out = svix.endpoint.get_headers(app.id, ep.id)
    assert out.headers == {"X-One": "1"}  # values that may be credentials are never shown
    assert out.sensitive == sorted(credentials)

    svix.endpoint.patch_headers(
        app.id, ep.id, EndpointHeadersPatchIn(headers={"X-Two": "2"}, delete_headers=["x-one"])
    )
    assert svix.endpoint.get_headers(app.id, ep.id).headers == {"X-Two": "2"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://example.com", "uid": "bad uid!"}, "uid"),
        ({"url": "https://example.com", "secret": "whsec_short"}, "secret"),
        ({"url": "https://example.com", "headers": {"webhook-id": "x"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X-A": "a\u0000b"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X-A": "a\r\nX-B: c"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X-A": "bell\u0007"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X-A": "del\u007f"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X-A": "\u20ac"}}, "headers"),  # not one byte
        ({"url": "https://example.com", "headers": {"X-A\n": "v"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X A": "v"}}, "headers"),
        ({"url": "https://example.com", "headers": {"X:A": "v"}}, "headers"),
        ({"url": "https://example.com", "eventTypes": ["no spaces"]}, "eventTypes"),
    ],
)
def test_bad_endpoint_input_is_422(api: httpx.Client, app: ApplicationOut, body: dict, field: str) -> None:
    response = api.post(f"/api/v1/app/{app.id}/endpoint", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(field in err["loc"] for err in detail), detail
    assert api.get(f"/api/v1/app/{app.id}/endpoint").json()["data"] == []


def test_headers_that_could_not_be_sent_are_422_when_saved(api: httpx.Client, app: ApplicationOut) -> None:
    """An application's endpoints and a source's destinations alike; PUT and PATCH alike."""
    source = api.post("/ingest/api/v1/source", json={"name": "headers"}).json()
    for owner in (f"/api/v1/app/{app.id}", f"/ingest/api/v1/source/{source['id']}"):
        created = api.post(
            f"{owner}/endpoint", json={"url": "https://example.com/h", "headers": {"X-Ok": "1"}}
        )
        assert created.status_code == 201, created.text
        headers_url = f"{owner}/endpoint/{created.json()['id']}/headers"
        for method in ("PUT", "PATCH"):
            for bad in ({"X-A": "a\u0000b"}, {"X-A": "a\nb"}, {"X-A\r": "v"}, {"": "v"}):
                answer = api.request(method, headers_url, json={"headers": bad})
                assert answer.status_code == 422, (owner, method, bad, answer.text)
                assert answer.json()["detail"][0]["loc"] == ["body", "headers"]
        assert api.get(headers_url).json()["headers"] == {"X-Ok": "1"}
        tab_and_latin1 = {"X-Ok": "a\tb", "X-Place": "Z\u00fcrich"}
        assert api.put(headers_url, json={"headers": tab_and_latin1}).status_code == 204
        assert api.get(headers_url).json()["headers"] == tab_and_latin1


def test_duplicate_endpoint_uid_is_409(svix: Svix, app: ApplicationOut) -> None:
    svix.endpoint.create(app.id, EndpointIn(url="https://example.com/1", uid="same"))
    with pytest.raises(HttpError) as conflict:
        svix.endpoint.create(app.id, EndpointIn(url="https://example.com/2", uid="same"))
    assert conflict.value.status_code == 409
    assert len(svix.endpoint.list(app.id).data) == 1


def test_unknown_app_or_endpoint_is_404(api: httpx.Client, app: ApplicationOut) -> None:
    assert api.get("/api/v1/app/app_2nosuchappxxxxxxxxxxxxxxxxx/endpoint").status_code == 404
    assert api.get(f"/api/v1/app/{app.id}/endpoint/ep_nope").status_code == 404
    assert api.get(f"/api/v1/app/{app.id}/endpoint/nope/secret").status_code == 404
    assert api.delete(f"/api/v1/app/{app.id}/endpoint/nope").status_code == 404


def test_trailing_slash_and_malformed_json(
    server: ServerProcess, api: httpx.Client, app: ApplicationOut
) -> None:
    assert api.get(f"/api/v1/app/{app.id}/endpoint/").status_code == 200
    response = api.post(
        f"/api/v1/app/{app.id}/endpoint",
        content=b'{"url": "https://example.com"',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
