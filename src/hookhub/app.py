"""Builds the ASGI application from its parts; the middleware stack is visible in one place."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.middleware.cors import CORSMiddleware

from hookhub import __version__
from hookhub.api.errors import install_error_handlers
from hookhub.api.openapi import install_openapi, operation_id
from hookhub.config import Settings
from hookhub.delivery.install import install as install_delivery
from hookhub.http.body_limit import BodyLimit
from hookhub.http.dispatch import ASGIApp, PrefixDispatcher, StripTrailingSlash
from hookhub.http.idempotency import Idempotency
from hookhub.http.metrics_app import MetricsApp
from hookhub.http.server_errors import ServerErrors
from hookhub.inbound import inbound_routers, ingest_app
from hookhub.outbound import attempts, endpoint_ops, health, message_fast_path
from hookhub.outbound.routes import outbound_routers
from hookhub.relay import reply_api
from hookhub.relay.listen_app import ListenApp
from hookhub.runtime import Runtime
from hookhub.store.retention import RetentionCleaner
from hookhub.tasks import api as tasks_api
from hookhub.web.app import build_web_app


def build_api(runtime: Runtime) -> FastAPI:
    api = FastAPI(
        title="hookhub",
        version=__version__,
        description="Self-hosted webhook gateway with a Svix-compatible API.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below, from the package's own copy of Swagger UI
        redoc_url=None,
        # A body without Content-Type is read as JSON on every route (as Svix does); a body
        # declared as something else is refused with 415 (``api.errors``).
        strict_content_type=False,
        generate_unique_id_function=operation_id,
    )
    api.state.runtime = runtime
    install_error_handlers(api)
    install_openapi(api)
    # A browser pointed at hookhub's address gets the dashboard.
    api.add_api_route("/", lambda: RedirectResponse("/ui"), methods=["GET"], include_in_schema=False)
    api.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    for router in (health.router, reply_api.router):
        api.include_router(router)
    for router in outbound_routers():
        api.include_router(router)
    for router in (attempts.router, endpoint_ops.router, tasks_api.router):
        api.include_router(router)
    for router in inbound_routers():
        api.include_router(router)
    return api


SWAGGER_UI = "/ui/static/swagger-ui"  # vendored (web/static/swagger-ui): /docs works offline


def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/api/v1/openapi.json",
        title="hookhub API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url="/ui/static/favicon.svg",
    )


def wrap_api(api: ASGIApp, runtime: Runtime) -> ASGIApp:
    """Outermost first: JSON 500s, CORS answers preflights, then body limit, idempotency, the
    routes."""
    app: ASGIApp = Idempotency(api, runtime.idempotency, runtime.tokens)
    app = BodyLimit(app, runtime.settings.max_body_bytes)
    app = CORSMiddleware(
        app,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["*"],
        max_age=600,
    )
    return ServerErrors(StripTrailingSlash(app))


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> ASGIApp:
    runtime = runtime or Runtime(settings or Settings())
    install_delivery(runtime)
    api = wrap_api(build_api(runtime), runtime)
    routes: list[tuple[str, ASGIApp]] = []
    routes.append((message_fast_path.PREFIX, message_fast_path.MessageFastPath(runtime, api)))
    routes.append(("/webhook/", ingest_app(runtime)))
    web = ServerErrors(build_web_app(runtime))
    routes += [("/ui", web), ("/portal", web)]
    routes.append(("/listen/", ServerErrors(ListenApp(runtime.relay))))
    routes.append(("/metrics", ServerErrors(MetricsApp(runtime))))
    runtime.add_service(runtime.relay)  # only processes that serve HTTP subscribe to the relay
    runtime.add_service(RetentionCleaner(runtime.db))
    return PrefixDispatcher(routes, api, on_startup=runtime.start, on_shutdown=runtime.stop)
