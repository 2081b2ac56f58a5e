"""The README's Quickstart, followed as a newcomer would: ``hookhub serve --dev`` (what ``make run``
starts), ``hookhub receive`` on the same machine, the curl steps, then the same in the dashboard in
a real browser — each ends with a webhook printed by the receiver.

Keep this in step with README.md's "Quickstart" section.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.server import ServerProcess, free_port, hookhub_command
from tests.web.conftest import screenshot


class PrintingReceiver:
    """``hookhub receive --port N`` as a process, its output read back."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log_path = workdir / f"receive-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                hookhub_command("receive", "--port", str(self.port)), stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_for("waiting for webhooks")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"{text!r} never printed:\n{self.output()}"
            time.sleep(0.1)
        return self.output()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def quickstart_server(make_database: Callable[[], str], tmp_path: Path) -> Iterator[ServerProcess]:
    # As `make run` starts it: --dev, and no HOOKHUB_ALLOW_PRIVATE_NETWORKS of the test harness's own.
    server = ServerProcess(make_database(), tmp_path, {"HOOKHUB_ALLOW_PRIVATE_NETWORKS": ""}).start("--dev")
    yield server
    server.stop()


@pytest.fixture
def printing_receiver(tmp_path: Path) -> Iterator[PrintingReceiver]:
    receiver = PrintingReceiver(tmp_path)
    yield receiver
    receiver.stop()


def test_the_quickstart_ends_with_a_webhook_on_this_machine(
    quickstart_server: ServerProcess, printing_receiver: PrintingReceiver, page: Page
) -> None:
    server, receiver = quickstart_server, printing_receiver
    assert "development mode (--dev)" in server.log()
    receiver_url = f"http://127.0.0.1:{receiver.port}/webhook"

    # Step 3: curl.
    with server.client() as api:
        assert api.post("/api/v1/app/", json={"name": "Demo", "uid": "demo"}).status_code == 201
        endpoint = api.post("/api/v1/app/demo/endpoint/", json={"url": receiver_url})
        assert endpoint.status_code == 201, endpoint.text
        msg = api.post(
            "/api/v1/app/demo/msg/", json={"eventType": "demo.hello", "payload": {"hello": "world"}}
        )
        assert msg.status_code == 202, msg.text
    printed = receiver.wait_for(f"webhook-id: {msg.json()['id']}")
    assert '"hello": "world"' in printed and "webhook-signature: v1," in printed

    # Step 4: the dashboard, from hookhub's bare address.
    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/ui")
    page.fill("#sign-in input[name=token]", server.token)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")
    page.goto(f"{server.url}/ui#/apps")
    page.fill("#app-create input[name=name]", "Demo in the dashboard")
    page.click("#app-create button[type=submit]")
    expect(page.locator("#app-name")).to_have_text("Demo in the dashboard")
    app_id = page.url.rsplit("/", 1)[-1]
    page.click("#app-endpoints")
    page.fill("#endpoint-create input[name=url]", receiver_url)
    page.click("#endpoint-create button[type=submit]")
    expect(page.locator(".endpoint-url")).to_contain_text(receiver_url)
    page.goto(f"{server.url}/ui#/apps/{app_id}/messages")
    page.fill("#message-create input[name=eventType]", "demo.hello")
    page.fill("#message-create textarea[name=payload]", '{"from": "the dashboard"}')
    page.click("#message-create button[type=submit]")
    expect(page.locator("#message-payload")).to_contain_text("the dashboard")
    msg_id = page.url.rsplit("/", 1)[-1]
    assert '"from": "the dashboard"' in receiver.wait_for(f"webhook-id: {msg_id}")
    deadline = time.monotonic() + 20
    while page.locator(".attempt-row").count() < 1:
        assert time.monotonic() < deadline, "no attempt shown"
        page.click("#refresh-attempts")
        page.wait_for_timeout(200)
    expect(page.locator(".attempt-row").first).to_contain_text("success")
    screenshot(page, "quickstart-delivered")


def test_without_dev_a_receiver_on_this_machine_is_refused(make_database, tmp_path) -> None:
    server = ServerProcess(make_database(), tmp_path, {"HOOKHUB_ALLOW_PRIVATE_NETWORKS": ""}).start()
    try:
        assert "development mode" not in server.log()
        with server.client() as api:
            api.post("/api/v1/app/", json={"name": "Prod", "uid": "prod"})
            refused = api.post("/api/v1/app/prod/endpoint/", json={"url": "http://127.0.0.1:9/webhook"})
        assert refused.status_code == 422 and "loopback" in refused.text
    finally:
        server.stop()
