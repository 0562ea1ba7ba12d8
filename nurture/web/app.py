"""The ASGI application served by `nurture run` (and alone by `nurture serve`)."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nurture import __version__
from nurture.metrics import Metrics
from nurture.web import api, inbound, reports_api, reps, unsubscribe
from nurture.web.body_limit import BodyLimit
from nurture.web.dashboard.routes import add_dashboard
from nurture.web.state import WebContext
from nurture.web.tracking import TrackingRoutes


def create_app(metrics: Metrics, context: WebContext | None = None) -> FastAPI:
    """The app: /healthz and /metrics always; with a `context` (database, settings, sequences,
    clock) also tracking (/o/, /c/), unsubscribe (/u/), the API (/api/, /api/reports/) and the
    dashboard (/dashboard)."""
    app = FastAPI(title="nurture", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if context is not None:
        app.state.nurture = context
        app.add_middleware(BodyLimit, max_bytes=context.max_body_bytes)
        app.add_middleware(TrackingRoutes, context=context)  # outermost: the busiest routes
        for module in (unsubscribe, api, inbound, reps, reports_api):
            app.include_router(module.router)
        add_dashboard(app)
    return app
