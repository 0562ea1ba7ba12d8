"""The fixed history of world.py, written to each test database (SQLite and PostgreSQL): as raw
rows with the reports' summaries rebuilt from them, and through the engine's writers, which keep
the summaries as they go (written.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.reports.world import seed
from tests.reports.written import seed_written


@pytest.fixture(params=["rebuilt", "written"])
def ids(engine: Engine, request: pytest.FixtureRequest) -> dict[str, int]:
    """Seed `engine` with the world; lead ids by name (and the rep's as "rita")."""
    return seed(engine) if request.param == "rebuilt" else seed_written(engine)
