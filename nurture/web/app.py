"""The ASGI application served by `nurture run` (and alone by `nurture serve`)."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nurture.metrics import Metrics


def create_app(metrics: Metrics) -> FastAPI:
    """The app; routers for tracking, the API and the dashboard are added as they exist."""
    app = FastAPI(title="nurture", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
