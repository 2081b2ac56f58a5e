"""The dashboard (``/ui``) and consumer portal (``/portal``): two HTML shells and their static files.

The pages are plain ES modules that call the same REST APIs as every other client, with the
token the user signs in with. The server side only serves files, plus two small calls: what a
token may reach (``GET /ui/session``), so the portal can find its app, and the source types the
verifiers know (``GET /ui/providers``), so the source form lists every one.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from hookhub import __version__
from hookhub.api.errors import install_error_handlers
from hookhub.errors import HookhubError
from hookhub.http.dispatch import ASGIApp
from hookhub.inbound.verifiers import table
from hookhub.runtime import Runtime

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"

# The pages load nothing from elsewhere and run no inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    # The portal's token travels in the URL fragment; never leak the page URL to other sites.
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers always revalidate (a cheap 304), so upgrades show at once."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["cache-control"] = "no-cache"
        response.headers["x-content-type-options"] = "nosniff"
        return response


class WebApp:
    """The ASGI app behind the ``/ui`` and ``/portal`` prefixes."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._rendered: dict[str, str] = {}
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"])
        )
        starlette = Starlette(
            routes=[
                Route("/ui/session", self.session, methods=["GET"]),
                Route("/ui/providers", self.providers, methods=["GET"]),
                Mount("/ui/static", app=RevalidatedStaticFiles(directory=STATIC_DIR), name="static"),
                Route("/ui", self.dashboard, methods=["GET", "HEAD"]),
                Route("/ui/{rest:path}", self.dashboard, methods=["GET", "HEAD"]),
                Route("/portal", self.portal, methods=["GET", "HEAD"]),
                Route("/portal/{rest:path}", self.portal, methods=["GET", "HEAD"]),
            ]
        )
        install_error_handlers(starlette)  # JSON errors (405 on /ui/session, a missing static file…)
        # The modules and stylesheet shrink to about a quarter on the wire.
        self.app = GZipMiddleware(starlette, minimum_size=1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _page(self, template: str) -> HTMLResponse:
        # The shells depend only on the version: render each once.
        html = self._rendered.get(template)
        if html is None:
            html = self.templates.get_template(template).render(version=__version__)
            self._rendered[template] = html
        return HTMLResponse(html, headers=PAGE_HEADERS)

    async def dashboard(self, request: Request) -> Response:
        # Views live in the URL fragment (/ui#/sources), so every path under /ui is the same page.
        return self._page("dashboard.html")

    async def portal(self, request: Request) -> Response:
        return self._page("portal.html")

    async def providers(self, request: Request) -> Response:
        """The source types the source form offers, from the verifiers (public knowledge)."""
        return JSONResponse({"data": table.catalog()}, headers={"cache-control": "no-cache"})

    async def session(self, request: Request) -> Response:
        """What the bearer token reaches: ``{"scope": "org"|"app", "appId": …}``."""
        try:
            principal = await self.runtime.tokens.authenticate(request.headers.get("authorization"))
        except HookhubError as error:
            return Response(
                error.body(), status_code=error.status, media_type="application/json", headers=error.headers
            )
        scope = "org" if principal.is_org else "app"
        return JSONResponse(
            {"scope": scope, "appId": principal.app_id, "readOnly": principal.read_only},
            headers={"cache-control": "no-store"},
        )


def build_web_app(runtime: Runtime) -> ASGIApp:
    return WebApp(runtime)
