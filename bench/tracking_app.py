"""The HTTP app alone (tracking, unsubscribe, API) for bench/tracking.py, as uvicorn runs it:

    NURTURE_DATABASE_URL=… NURTURE_SEQUENCES_DIR=… NURTURE_TRACKING__SECRET=… \\
    .venv/bin/python -m uvicorn --factory --app-dir bench tracking_app:app --port 8025

Configured by the usual NURTURE_* variables; the clock is the system's. A factory, so each
uvicorn worker (--workers N) builds its own engine and connection pool after the fork.
"""

from __future__ import annotations

from fastapi import FastAPI

from nurture.clock import SystemClock
from nurture.files.loader import load_project
from nurture.heap import settle
from nurture.metrics import Metrics
from nurture.settings import Settings
from nurture.store.engine import make_engine
from nurture.web.app import create_app
from nurture.web.state import WebContext


def app() -> FastAPI:
    settings = Settings()
    project = load_project(settings.sequences_dir)
    engine = make_engine(settings.database_url)
    app = create_app(Metrics(), WebContext(engine, settings, lambda: project, SystemClock()))
    settle()  # as the daemon does once started
    return app
