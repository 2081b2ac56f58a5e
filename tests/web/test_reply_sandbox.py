"""A reply (or a fixed response) is HTML a stranger wrote, served on hookhub's own origin, where
the dashboard keeps its token: in Chromium it must not run there. Its page has an opaque origin,
no storage of hookhub's, and its scripts do not run."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page
from websockets.sync.client import connect as websocket_connect

from tests.inbound.conftest import Sources
from tests.support.server import ServerProcess
from tests.web.conftest import sign_in

# Takes what the dashboard's origin holds and uses its token on the API; says so in the title.
STEALING_PAGE = """<!doctype html><title>reply</title><script>
document.title = "ran";
const loot = {cookie: document.cookie, session: {...sessionStorage}, local: {...localStorage}};
const token = Object.values(loot.session)[0] || "";
fetch("/api/v1/app", {credentials: "include", headers: {authorization: "Bearer " + token}})
  .then((r) => r.text()).then((text) => { document.title = "stole " + text.length + " bytes"; });
</script><p>a reply</p>"""

WHERE_AM_I = """() => {
    const tried = (read) => { try { read(); return "readable"; } catch (e) { return e.name; } };
    return {origin: window.origin, title: document.title,
            session: tried(() => sessionStorage.length), local: tried(() => localStorage.length),
            cookie: tried(() => document.cookie)};
}"""


@contextmanager
def replying_with(server: ServerProcess, source: dict[str, Any], reply: dict[str, Any]) -> Iterator[None]:
    """A listener that answers the first event waiting for a reply with ``reply``."""
    key = urlsplit(source["ingestUrl"]).path.rsplit("/", 1)[-1]
    ready = threading.Event()
    posted: list[int] = []

    def listen() -> None:
        with websocket_connect(server.url.replace("http", "ws") + f"/listen/{key}") as ws:
            assert json.loads(ws.recv(timeout=20))["type"] == "ready"
            ready.set()
            while not (frame := json.loads(ws.recv(timeout=20))).get("replyId"):
                pass
        url = f"{server.url}/ingest/api/v1/reply/{frame['replyId']}"
        posted.append(httpx.post(url, json=reply, timeout=20).status_code)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(20)
    yield
    thread.join(20)
    assert posted == [202]


def _assert_sandboxed(page: Page, server: ServerProcess) -> None:
    # The dashboard's origin holds the signed-in token; the answer's page can reach none of it.
    where = page.evaluate(WHERE_AM_I)
    assert where["origin"] == "null", where  # an opaque origin, not the gateway's
    assert where["title"] == "reply", where  # its script never ran
    assert where["session"] == where["local"] == where["cookie"] == "SecurityError", where
    page.goto(f"{server.url}/ui")
    assert page.evaluate("() => sessionStorage.length") >= 1  # the token was there all along


def test_a_reply_with_html_does_not_run_on_the_gateways_origin(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    sign_in(page, server)
    source = Sources(api).create(
        name=f"reply {uuid.uuid4().hex[:6]}", settings={"reply": {"wait": True, "timeoutSeconds": 20}}
    )
    reply = {"status": 200, "headers": {"Content-Type": "text/html; charset=utf-8"}, "body": STEALING_PAGE}
    with replying_with(server, source, reply):
        answer = page.goto(source["ingestUrl"])
    assert answer is not None and answer.status == 200
    _assert_sandboxed(page, server)


def test_a_fixed_html_response_does_not_run_on_the_gateways_origin(
    page: Page, server: ServerProcess, api: httpx.Client
) -> None:
    sign_in(page, server)
    response = {"body": STEALING_PAGE, "contentType": "text/html"}
    source = Sources(api).create(name=f"fixed {uuid.uuid4().hex[:6]}", settings={"response": response})
    answer = page.goto(source["ingestUrl"])
    assert answer is not None and answer.status == 200
    _assert_sandboxed(page, server)
