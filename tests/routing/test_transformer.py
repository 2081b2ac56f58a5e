"""The V8 runner on its own: limits, isolation between endpoints, and the event loop left free."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from hookhub.routing.transformations import TransformationError, Transformer, Webhook, body_of, input_of

FOREVER = "function handler(webhook) { while (true) {} }"


def _webhook(payload: object = None) -> Webhook:
    return Webhook(
        "order.paid", payload if payload is not None else {"n": 1}, "https://example.com/h", "POST", {}
    )


def test_a_slow_script_leaves_the_event_loop_and_other_scripts_free() -> None:
    transformer = Transformer(threads=2, timeout_ms=5000)

    async def scenario() -> None:
        slow = asyncio.create_task(transformer.run("ep_slow", FOREVER, _webhook()))
        await asyncio.sleep(0)  # the slow run has started on its thread
        quick = await transformer.run(
            "ep_quick", "function handler(w) { w.payload.n += 1; return w; }", _webhook()
        )
        assert quick.payload == {"n": 2}
        assert not slow.done()  # the loop ran the quick one while V8 was still looping
        with pytest.raises(TransformationError, match="longer than 5000 ms"):
            await slow

    try:
        asyncio.run(scenario())
    finally:
        transformer.close()


def test_endpoints_do_not_share_globals() -> None:
    transformer = Transformer(threads=1)
    leak = (
        "var kept = kept || []; function handler(w) { kept.push(w.payload.n); w.payload = kept; return w; }"
    )

    async def scenario() -> tuple[object, object, object]:
        first = await transformer.run("ep_a", leak, _webhook({"n": 1}))
        second = await transformer.run("ep_a", leak, _webhook({"n": 2}))
        other = await transformer.run("ep_b", leak, _webhook({"n": 3}))
        return first.payload, second.payload, other.payload

    try:
        first, second, other = asyncio.run(scenario())
    finally:
        transformer.close()
    assert first == [1] and second == [1, 2]  # one endpoint's own isolate
    assert other == [3]  # never another endpoint's


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("function handler(w) { return w.a.b; }", "TypeError"),
        ("function handler(w) { return 5; }", "must return the webhook object"),
        ("function handler(w) { w.method = 'GET'; return w; }", "webhook.method must be one of"),
        ("function handler(w) { w.url = 'file:///etc/passwd'; return w; }", "http(s) URL"),
        ("function handler(w) { w.headers['webhook-signature'] = 'x'; return w; }", "set by hookhub"),
        ("function handler(w) { w.headers['x-a'] = 'b\\r\\nc: d'; return w; }", "x-a"),
        ("function handler(w) { const a = []; while (true) a.push(new Array(1e6).fill(7)); }", "than"),
        ("no handler here", "SyntaxError"),
        ("JSON.stringify = () => 'x'; function handler(w) { return w; }", "must return the webhook object"),
    ],
)
def test_what_a_handler_may_not_do(code: str, words: str) -> None:
    transformer = Transformer(threads=1, timeout_ms=2000)
    try:
        with pytest.raises(TransformationError, match=None) as raised:
            asyncio.run(transformer.run("ep_x", code, _webhook()))
    finally:
        transformer.close()
    assert words in str(raised.value)


def test_bodies_in_and_out() -> None:
    job = SimpleNamespace(url="https://e.example/h", method="POST", custom_headers={"x-k": "v"})
    given = input_of("t", b'{"a": 1}', "application/json", job)
    assert given.payload == {"a": 1} and given.headers == {"x-k": "v"}
    assert input_of("t", b"a=1&b=2", "application/x-www-form-urlencoded", job).payload == "a=1&b=2"
    assert input_of("t", b"\xff\x00", "application/octet-stream", job).payload is None
    # Untouched: the exact bytes; changed: JSON, or text for a text body given back as text.
    assert body_of({"a": 1}, b'{"a":  1}', "application/json") == (b'{"a":  1}', "application/json")
    assert body_of({"a": 2}, b'{"a": 1}', "application/json") == (b'{"a":2}', "application/json")
    assert body_of("a=9", b"a=1", "application/x-www-form-urlencoded") == (
        b"a=9",
        "application/x-www-form-urlencoded",
    )
    assert body_of(None, b"\xff\x00", "application/octet-stream") == (b"\xff\x00", "application/octet-stream")
