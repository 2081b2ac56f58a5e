"""Inbound events forwarded to a source's destinations go through the same engine: the raw body
byte for byte, its original Content-Type, signed with the event id."""

from __future__ import annotations

import httpx
import standardwebhooks


def _source_with_destination(api: httpx.Client, url: str) -> tuple[str, str, str]:
    src = api.post("/ingest/api/v1/source", json={"name": "fwd"})
    assert src.status_code in (200, 201), src.text
    source = src.json()
    dest = api.post(f"/ingest/api/v1/source/{source['id']}/endpoint", json={"url": url})
    assert dest.status_code in (200, 201), dest.text
    secret = api.get(f"/ingest/api/v1/source/{source['id']}/endpoint/{dest.json()['id']}/secret").json()[
        "key"
    ]
    return source["id"], source["ingestUrl"], secret


def test_raw_body_and_content_type_are_forwarded_exactly(api, make_receiver):
    receiver = make_receiver()
    _, ingest_url, secret = _source_with_destination(api, receiver.url)
    form = b"name=J%C3%BCrgen&note=  two  spaces &empty="
    blob = bytes(range(256)) + b"\xff\xfe not utf-8"
    assert httpx.post(
        ingest_url, content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    ).is_success
    assert httpx.post(
        ingest_url, content=blob, headers={"Content-Type": "application/octet-stream"}
    ).is_success

    first, second = receiver.wait_for(2)
    assert first.body == form and first.headers["content-type"] == "application/x-www-form-urlencoded"
    assert second.body == blob and second.headers["content-type"] == "application/octet-stream"
    assert first.webhook_id.startswith("evt_") and second.webhook_id.startswith("evt_")
    standardwebhooks.Webhook(secret).verify(first.body, first.headers, json_parse=False)
