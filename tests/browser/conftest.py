"""A real browser on the real dashboard: uvicorn serves the app on a free loopback port (in a
thread) over a SQLite file holding the world of tests/reports/world.py, and Playwright drives
Debian's Chromium (/usr/bin/chromium, package `chromium`). Screenshots go to
build/screenshots/ (gitignored) for people to look at."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session

from nurture.clock import ManualClock
from nurture.store.engine import make_engine, upgrade
from nurture.store.models import ScoreChange
from tests.e2e.harness import until
from tests.reports.world import NOW, day, seed
from tests.web.dashboard.site import (
    dashboard_app,
    dashboard_context,
    dashboard_settings,
    write_world_project,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
START_SECONDS = 10
VIEWPORTS = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}

@dataclass(frozen=True)
class Served:
    url: str
    engine: Engine
    ids: dict[str, int]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed_scores(engine: Engine, lead_id: int) -> None:
    """A score history for one lead, so its page has a score chart."""
    with Session(engine) as session:
        for at, delta, after, reason in ((day(2, 3, 2), 15, 15, "replied"),
                                         (day(2, 6, 12), 1, 16, "opened"),
                                         (day(2, 18), -6, 10, "decay")):
            session.add(ScoreChange(lead_id=lead_id, at=at + timedelta(minutes=1), delta=delta,
                                    score_after=after, reason=reason))
        session.commit()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The dashboard over the seeded world, served by uvicorn on 127.0.0.1."""
    root = tmp_path_factory.mktemp("dashboard")
    database_url = f"sqlite:///{root / 'nurture.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    ids = seed(engine)
    _seed_scores(engine, ids["ann"])
    context = dashboard_context(engine, dashboard_settings(database_url),
                                write_world_project(root), ManualClock(NOW))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(dashboard_app(context), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
    thread.start()
    until(lambda: server.started or not thread.is_alive(), START_SECONDS, "uvicorn to start")
    assert server.started, "uvicorn did not start"
    try:
        yield Served(f"http://127.0.0.1:{port}", engine, ids)
    finally:
        server.should_exit = True
        thread.join(START_SECONDS)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: install the Debian package `chromium` "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # the test module skips without it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
