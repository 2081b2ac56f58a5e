"""Homey-style webhooks: sub-path and query parameters kept; a route key taken from the query."""

from __future__ import annotations

import base64

import httpx

from tests.inbound.conftest import Sources


def test_sub_path_and_query_are_kept(sources: Sources) -> None:
    source = sources.create(name="homey", settings={"routeKeyPath": "query.homey"})
    body = b'{\n  "device_id": "aaabbbccc",\n  "turned_on": true\n}'
    response = httpx.post(
        source["ingestUrl"] + "/lights/bulb%201?homey=5f2a&x=1&x=2",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
    [event] = sources.events(source["id"])
    assert event["path"] == "/lights/bulb 1"
    assert event["query"] == "homey=5f2a&x=1&x=2"
    assert event["routeKey"] == "5f2a"
    assert event["body"].encode() == body
    assert event["headers"]["content-type"] == "application/json; charset=utf-8"


def test_route_key_from_a_header_and_the_body(sources: Sources) -> None:
    by_header = sources.create(name="h", settings={"routeKeyPath": "headers['X-Device-Id']"})
    httpx.post(by_header["ingestUrl"], json={}, headers={"x-device-id": "dev-7"})
    assert sources.events(by_header["id"])[0]["routeKey"] == "dev-7"
    by_body = sources.create(name="b", settings={"routeKeyPath": "body.items[0].id"})
    httpx.post(by_body["ingestUrl"], json={"items": [{"id": "first"}, {"id": "second"}]})
    assert sources.events(by_body["id"])[0]["routeKey"] == "first"


def test_form_and_raw_bodies_are_stored_byte_exact(sources: Sources) -> None:
    source = sources.create(name="raw", settings={"eventTypeFrom": "body.kind"})
    httpx.post(
        source["ingestUrl"],
        content=b"kind=form&b=%20x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    raw = bytes(range(256))
    httpx.put(source["ingestUrl"] + "/bin", content=raw, headers={"Content-Type": "application/octet-stream"})
    httpx.delete(source["ingestUrl"] + "/thing/1")
    events = {e["method"]: e for e in sources.events(source["id"])}
    assert events["POST"]["body"] == "kind=form&b=%20x" and events["POST"]["eventType"] == "form"
    assert events["PUT"]["bodyEncoding"] == "base64"
    assert base64.b64decode(events["PUT"]["body"]) == raw
    assert events["DELETE"]["path"] == "/thing/1" and events["DELETE"]["body"] == ""


def test_event_stream_on_the_bare_url_is_a_smee_channel(sources: Sources) -> None:
    source = sources.create(name="smee")
    url = source["ingestUrl"]
    with (
        httpx.Client(timeout=20) as client,
        client.stream("GET", url, headers={"Accept": "text/event-stream"}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: ready"
        # Opening the channel stored nothing; a POST on the same URL reaches it.
        assert sources.events(source["id"]) == []
        assert httpx.post(url, json={"hello": "smee"}).status_code == 200
        data = next(line for line in lines if line.startswith("data:") and "hello" in line)
    assert '"smee"' in data
    # With a sub-path the same Accept header is an ordinary ingest request.
    sub = httpx.get(url + "/sub", headers={"Accept": "text/event-stream"})
    assert sub.status_code == 200
    assert [e["path"] for e in sources.events(source["id"])] == ["/sub", ""]
