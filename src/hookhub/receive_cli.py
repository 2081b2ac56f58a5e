"""``hookhub receive``: a webhook receiver for trying hookhub on one's own machine.

It prints every request it gets (method, path, the Standard Webhooks headers, the body) and
answers 204; with ``--secret`` it verifies each signature with the ``standardwebhooks`` package,
as a real receiver would, and answers 401 to one that does not verify. It is a development
tool: it listens on loopback by default and keeps nothing.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

import standardwebhooks
from aiohttp import web

SHOWN_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")


def make_app(secret: str | None, out: TextIO = sys.stdout) -> web.Application:
    verifier = standardwebhooks.Webhook(secret) if secret else None

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        verdict = ""
        if verifier is not None:
            try:
                verifier.verify(body, dict(request.headers))
            except standardwebhooks.WebhookVerificationError as exc:
                verdict = f"signature: REFUSED ({exc})"
            else:
                verdict = "signature: verified"
        lines = [f"{request.method} {request.path_qs}"]
        lines += [f"  {name}: {request.headers[name]}" for name in SHOWN_HEADERS if name in request.headers]
        if verdict:
            lines.append(f"  {verdict}")
        lines.append("  " + _readable(body))
        print("\n".join(lines), file=out, flush=True)
        return web.Response(status=401 if verdict.startswith("signature: REFUSED") else 204)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", receive)
    return app


def _readable(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2).replace("\n", "\n  ")
    except ValueError:
        return body.decode("utf-8", "replace")


def run(host: str, port: int, secret: str | None) -> None:
    print(f"hookhub receive: waiting for webhooks on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    web.run_app(make_app(secret), host=host, port=port, print=None)
