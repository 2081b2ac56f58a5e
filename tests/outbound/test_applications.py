"""Applications through the official svix SDK: CRUD, get_if_exists, uid lookups, pagination."""

from __future__ import annotations

import uuid

import httpx
import pytest
from svix.api import ApplicationIn, ApplicationListOptions, ApplicationPatch, Svix
from svix.exceptions import HttpError, HTTPValidationError


def _uid() -> str:
    return f"app-{uuid.uuid4().hex[:10]}"


def test_application_crud_with_the_sdk(svix: Svix) -> None:
    uid = _uid()
    created = svix.application.create(
        ApplicationIn(name="Acme", uid=uid, throttle_rate=7, metadata={"k": "v"})
    )
    assert created.id.startswith("app_") and len(created.id) == 4 + 27
    assert (created.name, created.uid, created.throttle_rate, created.metadata) == (
        "Acme",
        uid,
        7,
        {"k": "v"},
    )

    assert svix.application.get(uid).id == created.id
    assert svix.application.get(created.id).uid == uid

    patched = svix.application.patch(uid, ApplicationPatch(name="Acme 2"))
    assert patched.name == "Acme 2" and patched.throttle_rate == 7 and patched.metadata == {"k": "v"}

    updated = svix.application.upsert(created.id, ApplicationIn(name="Acme 3"))
    assert updated.name == "Acme 3" and updated.uid is None and updated.throttle_rate is None

    svix.application.delete(created.id)
    with pytest.raises(HttpError) as gone:
        svix.application.get(created.id)
    assert gone.value.status_code == 404


def test_get_if_exists_returns_the_existing_app(svix: Svix, api: httpx.Client) -> None:
    uid = _uid()
    first = svix.application.get_or_create(ApplicationIn(name="One", uid=uid))
    again = svix.application.get_or_create(ApplicationIn(name="Other name", uid=uid))
    assert again.id == first.id and again.name == "One"

    raw = api.post("/api/v1/app", params={"get_if_exists": "true"}, json={"name": "x", "uid": uid})
    assert raw.status_code == 200
    fresh = api.post("/api/v1/app", params={"get_if_exists": "true"}, json={"name": "x", "uid": _uid()})
    assert fresh.status_code == 201


def test_duplicate_uid_is_409(svix: Svix) -> None:
    uid = _uid()
    svix.application.create(ApplicationIn(name="a", uid=uid))
    with pytest.raises(HttpError) as conflict:
        svix.application.create(ApplicationIn(name="b", uid=uid))
    assert conflict.value.status_code == 409
    assert conflict.value.code == "conflict"


def test_put_on_unknown_uid_creates(svix: Svix) -> None:
    uid = _uid()
    made = svix.application.upsert(uid, ApplicationIn(name="by put"))
    assert made.uid == uid
    assert svix.application.get(uid).id == made.id


def test_legacy_rate_limit_is_accepted(api: httpx.Client) -> None:
    response = api.post("/api/v1/app", json={"name": "legacy", "rateLimit": 4})
    assert response.status_code == 201
    assert response.json()["throttleRate"] == 4 and response.json()["rateLimit"] == 4


def test_list_paginates_forward_and_back(svix: Svix, api: httpx.Client) -> None:
    made = [svix.application.create(ApplicationIn(name=f"page {i}")).id for i in range(5)]
    seen: list[str] = []
    iterator = made[0]  # ids are increasing: start right after the first one
    pages = 0
    while True:
        page = svix.application.list(ApplicationListOptions(limit=2, iterator=iterator))
        seen += [a.id for a in page.data]
        iterator = page.iterator
        pages += 1
        if page.done or len(seen) > 50:
            break
    assert seen[:4] == made[1:]
    assert pages >= 2

    back = api.get("/api/v1/app", params={"limit": 2, "iterator": f"-{made[3]}"}).json()
    assert [a["id"] for a in back["data"]] == made[1:3]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "uid": "has space"}, "uid"),
        ({"uid": "no-name"}, "name"),
        ({"name": "x", "uid": "app_x"}, "uid"),
    ],
)
def test_bad_application_input_is_422(api: httpx.Client, body: dict, field: str) -> None:
    response = api.post("/api/v1/app", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation"
    assert any(field in err["loc"] and err["msg"] for err in response.json()["detail"])


def test_sdk_raises_validation_error(svix: Svix) -> None:
    with pytest.raises(HTTPValidationError):
        svix.application.create(ApplicationIn(name="x", uid="bad uid"))


def test_unknown_app_is_404(api: httpx.Client) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = api.request(method, "/api/v1/app/app_2zzzzzzzzzzzzzzzzzzzzzzzzzz", json={})
        assert response.status_code == 404, method
        assert response.json()["code"] == "not_found"
