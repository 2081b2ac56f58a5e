"""Messages through the official svix SDK: create with fan-out, list/filter/paginate, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from svix.api import (
    ApplicationIn,
    ApplicationOut,
    EndpointIn,
    MessageCreateOptions,
    MessageIn,
    MessageListOptions,
    MessagePrecheckIn,
    Svix,
)
from svix.api.message import MessageGetOptions
from svix.exceptions import HttpError, HTTPValidationError

from tests.outbound.rows import delivery_endpoints
from tests.support.server import ServerProcess
from tests.support.waiting import wait_for

# Loopback only: the delivery worker may try these; nothing listens on port 9.
HOOK = "http://127.0.0.1:9/hook"


def test_create_get_and_payload_text(svix: Svix, api: httpx.Client, app: ApplicationOut) -> None:
    payload = {"id": "u1", "nested": {"é": [1, 2.5, None, True]}}
    msg = svix.message.create(
        app.id,
        MessageIn(event_type="user.created", event_id="evt-1", payload=payload, channels=["eu"], tags=["t1"]),
        MessageCreateOptions(with_content=True),
    )
    assert msg.id.startswith("msg_") and msg.payload == payload
    assert (msg.event_type, msg.event_id, msg.channels, msg.tags) == ("user.created", "evt-1", ["eu"], ["t1"])

    by_event_id = svix.message.get(app.uid, "evt-1", MessageGetOptions(with_content=True))
    assert by_event_id.id == msg.id and by_event_id.payload == payload
    assert svix.message.get(app.id, msg.id).payload == {}  # the SDK asks without content

    raw = api.get(f"/api/v1/app/{app.id}/msg/{msg.id}")  # curl default: with content
    assert raw.json()["payload"] == payload


def test_sdk_default_create_omits_payload(svix: Svix, app: ApplicationOut) -> None:
    msg = svix.message.create(app.id, MessageIn(event_type="a.b", payload={"x": 1}))
    assert msg.payload == {}
    assert svix.message.get(app.id, msg.id, MessageGetOptions(with_content=True)).payload == {"x": 1}


def test_fan_out_follows_filter_types_channels_and_disabled(
    server: ServerProcess, svix: Svix, app: ApplicationOut
) -> None:
    every = svix.endpoint.create(app.id, EndpointIn(url=HOOK + "/all")).id
    typed = svix.endpoint.create(app.id, EndpointIn(url=HOOK + "/typed", event_types=["order.paid"])).id
    eu = svix.endpoint.create(app.id, EndpointIn(url=HOOK + "/eu", channels=["eu"])).id
    svix.endpoint.create(app.id, EndpointIn(url=HOOK + "/off", disabled=True))

    def targets(event_type: str, channels: list[str] | None) -> list[str]:
        msg = svix.message.create(app.id, MessageIn(event_type=event_type, payload={}, channels=channels))
        return delivery_endpoints(server.database_url, msg.id)

    assert targets("order.paid", ["eu"]) == sorted([every, typed, eu])
    assert targets("order.paid", ["us"]) == sorted([every, typed])
    assert targets("order.refunded", None) == [every]

    assert svix.message.precheck(app.id, MessagePrecheckIn(event_type="x.y", channels=["eu"])).active is True
    other = svix.application.create(ApplicationIn(name="empty"))
    assert svix.message.precheck(other.id, MessagePrecheckIn(event_type="x.y")).active is False


def test_list_paginates_newest_first_and_filters(svix: Svix, app: ApplicationOut) -> None:
    made = [
        svix.message.create(
            app.id,
            MessageIn(
                event_type="even" if i % 2 == 0 else "odd",
                payload={"i": i},
                channels=["c-even"] if i % 2 == 0 else None,
                tags=["odd-tag"] if i % 2 else None,
            ),
        ).id
        for i in range(7)
    ]
    seen: list[str] = []
    iterator = None
    pages = 0
    while True:
        page = svix.message.list(app.id, MessageListOptions(limit=3, iterator=iterator))
        seen += [m.id for m in page.data]
        iterator, pages = page.iterator, pages + 1
        if page.done or pages > 10:
            break
    assert seen == list(reversed(made)) and pages == 3

    evens = svix.message.list(app.id, MessageListOptions(event_types=["even"]))
    assert [m.id for m in evens.data] == [made[i] for i in (6, 4, 2, 0)]
    both = svix.message.list(app.id, MessageListOptions(event_types=["even", "odd"], limit=250))
    assert len(both.data) == 7
    assert [m.id for m in svix.message.list(app.id, MessageListOptions(channel="c-even")).data] == [
        made[i] for i in (6, 4, 2, 0)
    ]
    assert [m.id for m in svix.message.list(app.id, MessageListOptions(tag="odd-tag")).data] == [
        made[i] for i in (5, 3, 1)
    ]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert svix.message.list(app.id, MessageListOptions(after=future)).data == []
    assert len(svix.message.list(app.id, MessageListOptions(before=future)).data) == 7
    with_content = svix.message.list(app.id, MessageListOptions(with_content=True, limit=1))
    assert with_content.data[0].payload == {"i": 6}


def test_duplicate_event_id_is_409_and_writes_nothing(
    server: ServerProcess, svix: Svix, app: ApplicationOut
) -> None:
    svix.endpoint.create(app.id, EndpointIn(url=HOOK))
    first = svix.message.create(app.id, MessageIn(event_type="a", event_id="same", payload={"n": 1}))
    with pytest.raises(HttpError) as conflict:
        svix.message.create(app.id, MessageIn(event_type="a", event_id="same", payload={"n": 2}))
    assert conflict.value.status_code == 409
    listed = svix.message.list(app.id).data
    assert [m.id for m in listed] == [first.id]
    assert len(delivery_endpoints(server.database_url, first.id)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventType": "has space", "payload": {}}, "eventType"),
        ({"eventType": "", "payload": {}}, "eventType"),
        ({"eventType": "a", "payload": [1, 2]}, "payload"),
        ({"eventType": "a", "payload": "text"}, "payload"),
        ({"eventType": "a"}, "payload"),
        ({"eventType": "a", "payload": {}, "eventId": "bad id"}, "eventId"),
        ({"eventType": "a", "payload": {}, "channels": ["bad channel"]}, "channels"),
    ],
)
def test_bad_message_is_422_and_writes_nothing(
    api: httpx.Client, app: ApplicationOut, body: dict, field: str
) -> None:
    api.post(f"/api/v1/app/{app.id}/endpoint", json={"url": HOOK})
    response = api.post(f"/api/v1/app/{app.id}/msg", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(field in err["loc"] and err["msg"] for err in detail), detail
    assert api.get(f"/api/v1/app/{app.id}/msg").json()["data"] == []


def test_sdk_surfaces_validation_errors(svix: Svix, app: ApplicationOut) -> None:
    with pytest.raises(HTTPValidationError):
        svix.message.create(app.id, MessageIn(event_type="not valid!", payload={}))


def test_malformed_json_is_400(api: httpx.Client, app: ApplicationOut) -> None:
    response = api.post(
        f"/api/v1/app/{app.id}/msg",
        content=b'{"eventType": "a", "payload": {',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    assert api.get(f"/api/v1/app/{app.id}/msg").json()["data"] == []


def test_unknown_app_or_message_is_404(api: httpx.Client, app: ApplicationOut) -> None:
    missing = api.post("/api/v1/app/no-such-app/msg", json={"eventType": "a", "payload": {}})
    assert missing.status_code == 404
    assert api.get(f"/api/v1/app/{app.id}/msg/msg_nope").status_code == 404
    assert api.delete(f"/api/v1/app/{app.id}/msg/nope/content").status_code == 404


def test_message_can_create_its_application(api: httpx.Client) -> None:
    uid = f"auto-{uuid.uuid4().hex[:8]}"
    response = api.post(
        f"/api/v1/app/{uid}/msg", json={"eventType": "a", "payload": {}, "application": {"name": "Auto"}}
    )
    assert response.status_code == 202, response.text
    assert api.get(f"/api/v1/app/{uid}").json()["name"] == "Auto"


def test_expunge_content(svix: Svix, app: ApplicationOut) -> None:
    one = svix.message.create(app.id, MessageIn(event_type="a", payload={"secret": 1}))
    two = svix.message.create(app.id, MessageIn(event_type="a", payload={"secret": 2}))
    svix.message.expunge_content(app.id, one.id)
    content = MessageGetOptions(with_content=True)
    assert svix.message.get(app.id, one.id, content).payload == {"expired": True}
    assert svix.message.get(app.id, two.id, content).payload == {"secret": 2}
    task = svix.message.expunge_all_contents(app.id)
    assert str(task.task) == "application.purge_content"
    wait_for(lambda: svix.background_task.get(task.id).status == "finished", what="the purge")
    assert svix.message.get(app.id, two.id, content).payload == {"expired": True}


def test_deliver_at_and_retention_are_accepted(api: httpx.Client, app: ApplicationOut) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    response = api.post(
        f"/api/v1/app/{app.id}/msg",
        json={"eventType": "a", "payload": {}, "deliverAt": later, "payloadRetentionPeriod": 7},
    )
    assert response.status_code == 202, response.text
    assert datetime.fromisoformat(response.json()["deliverAt"]) == datetime.fromisoformat(later)


def test_times_without_offset_are_utc(api: httpx.Client, app: ApplicationOut) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=5)).replace(tzinfo=None, microsecond=0)
    made = api.post(
        f"/api/v1/app/{app.id}/msg", json={"eventType": "a", "payload": {}, "deliverAt": later.isoformat()}
    )
    assert made.status_code == 202, made.text
    assert datetime.fromisoformat(made.json()["deliverAt"]) == later.replace(tzinfo=UTC)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    listed = api.get(f"/api/v1/app/{app.id}/msg", params={"after": hour_ago})
    assert listed.status_code == 200 and [m["id"] for m in listed.json()["data"]] == [made.json()["id"]]


def test_payload_numbers_beyond_64_bits_are_refused(api: httpx.Client, app: ApplicationOut) -> None:
    body = b'{"eventType": "a", "payload": {"n": 123456789012345678901234567890}}'
    plain = api.post(f"/api/v1/app/{app.id}/msg", content=body, headers={"content-type": "application/json"})
    keyed = api.post(
        f"/api/v1/app/{app.id}/msg",
        content=body,
        headers={"content-type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert plain.status_code in (400, 422) and keyed.status_code in (400, 422), (plain.text, keyed.text)
    assert api.get(f"/api/v1/app/{app.id}/msg").json()["data"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"eventType": "a", "payload": {"x": NaN}}', 400),  # not JSON, though parsers take it
        (b'{"eventType": "a", "payload": {"x": -Infinity}}', 400),
        (b'{"eventType": "a", "payload": {"x": 123456789012345678901234567890}}', 422),  # over 64 bits
    ],
)
def test_bodies_json_cannot_store_are_refused(
    api: httpx.Client, app: ApplicationOut, body: bytes, status: int
) -> None:
    response = api.post(
        f"/api/v1/app/{app.id}/msg", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert api.get(f"/api/v1/app/{app.id}/msg").json()["data"] == []


def test_json_constants_inside_strings_are_plain_text(api: httpx.Client, app: ApplicationOut) -> None:
    body = b'{"eventType": "a", "payload": {"x": "NaN and Infinity", "n": 1234567890123456789}}'
    response = api.post(
        f"/api/v1/app/{app.id}/msg", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["payload"] == {"x": "NaN and Infinity", "n": 1234567890123456789}
