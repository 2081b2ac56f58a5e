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
from svix.exceptions import HttpError, HTTPValidationError

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
    assert seen == made[::-1]  # newest first, as Svix lists endpoints


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
            # Non-ASCII is refused too (one rule for every header hookhub sends: http/fields.py);
            # text beyond ASCII is encoded by the sender (e.g. RFC 8187).
            bad_ones = (
                {"X-A": "a\u0000b"},
                {"X-A": "a\nb"},
                {"X-A\r": "v"},
                {"": "v"},
                {"X-A": "Z\u00fcrich"},
            )
            for bad in bad_ones:
                answer = api.request(method, headers_url, json={"headers": bad})
                assert answer.status_code == 422, (owner, method, bad, answer.text)
                assert answer.json()["detail"][0]["loc"] == ["body", "headers"]
        assert api.get(headers_url).json()["headers"] == {"X-Ok": "1"}
        tab_and_encoded = {"X-Ok": "a\tb", "X-Place": "UTF-8''Z%C3%BCrich"}
        assert api.put(headers_url, json={"headers": tab_and_encoded}).status_code == 204
        assert api.get(headers_url).json()["headers"] == tab_and_encoded


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


def _full_width(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789."})


# Addresses the SSRF guard refuses, in the spellings the HTTP client or the resolver accept.
GUARDED_URLS = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
    (f"http://{_full_width('169.254.169.254')}/latest/", "169.254.169.254 is link-local"),
    ("http://169\u3002254\u3002169\u3002254/", "169.254.169.254 is link-local"),
    ("http://2852039166/", "169.254.169.254 is link-local"),  # decimal
    ("http://0251.0376.0251.0376/", "169.254.169.254 is link-local"),  # octal
    ("http://0xa9fea9fe:8080/", "169.254.169.254 is link-local"),  # hex
    ("http://10.1/", "10.0.0.1 is private"),  # short
    ("http://[::ffff:10.0.0.1]/", "10.0.0.1, which is private"),  # IPv4-mapped
    ("http://[2002:a9fe:a9fe::1]/", "169.254.169.254, which is link-local"),  # 6to4
    ("http://[fd00::1]/", "fd00::1 is private"),
    ("https://0.0.0.0/", "0.0.0.0 is unspecified"),
]


@pytest.mark.parametrize(("url", "reason"), GUARDED_URLS)
def test_a_guarded_address_is_refused_when_saved(
    svix: Svix, api: httpx.Client, app: ApplicationOut, url: str, reason: str
) -> None:
    """Create, PUT and PATCH refuse it with a 422 naming the address; nothing is written."""
    with pytest.raises(HTTPValidationError) as created:
        svix.endpoint.create(app.id, EndpointIn(url=url))
    assert created.value.status_code == 422
    (error,) = created.value.detail
    assert error.loc == ["body", "url"] and reason in error.msg

    kept = svix.endpoint.create(app.id, EndpointIn(url="https://example.com/kept", uid="kept"))
    with pytest.raises(HTTPValidationError):
        svix.endpoint.upsert(app.id, kept.id, EndpointUpsertIn(url=url))
    with pytest.raises(HTTPValidationError):
        svix.endpoint.upsert(app.id, "made-by-put", EndpointUpsertIn(url=url))
    with pytest.raises(HTTPValidationError):
        svix.endpoint.patch(app.id, kept.id, EndpointPatch(url=url))

    answer = api.patch(f"/api/v1/app/{app.id}/endpoint/{kept.id}", json={"url": url})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "validation"
    assert body["detail"][0]["loc"] == ["body", "url"] and reason in body["detail"][0]["msg"]
    assert "HOOKHUB_ALLOW_PRIVATE_NETWORKS" in body["detail"][0]["msg"]
    assert [ep.url for ep in svix.endpoint.list(app.id).data] == ["https://example.com/kept"]


@pytest.mark.parametrize(
    "url",
    [
        "http://exa\u200bmple.com/",  # a zero-width space IDNA would silently drop
        "http://xn--/",  # an A-label that does not decode
    ],
)
def test_a_host_that_does_not_survive_idna_is_refused(
    svix: Svix, api: httpx.Client, app: ApplicationOut, url: str
) -> None:
    with pytest.raises(HTTPValidationError) as created:
        svix.endpoint.create(app.id, EndpointIn(url=url))
    assert created.value.status_code == 422
    assert "IDNA" in created.value.detail[0].msg
    answer = api.post(f"/api/v1/app/{app.id}/endpoint", json={"url": url})
    assert answer.status_code == 422 and answer.json()["code"] == "validation"
    assert svix.endpoint.list(app.id).data == []


def test_allowed_networks_stay_allowed_in_any_spelling(svix: Svix, app: ApplicationOut) -> None:
    """The test server allows 127.0.0.0/8 and ::1: loopback in any spelling may be saved."""
    for url in (f"http://{_full_width('127.0.0.1')}:9/", "http://2130706433:9/", "http://[::1]:9/"):
        assert svix.endpoint.create(app.id, EndpointIn(url=url)).url == url


def test_a_source_destination_is_judged_too(api: httpx.Client) -> None:
    source = api.post("/ingest/api/v1/source", json={"name": "ssrf"}).json()
    path = f"/ingest/api/v1/source/{source['id']}/endpoint"
    answer = api.post(path, json={"url": f"http://{_full_width('169.254.169.254')}/"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation"
    assert "169.254.169.254 is link-local" in answer.json()["detail"][0]["msg"]
    made = api.post(path, json={"url": "https://example.com/in"}).json()
    answer = api.put(f"{path}/{made['id']}", json={"url": "http://0xa9fea9fe/"})
    assert answer.status_code == 422, answer.text
    assert [ep["url"] for ep in api.get(path).json()["data"]] == ["https://example.com/in"]
