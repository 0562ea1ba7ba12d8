"""The fixed history of world.py, written to each test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.reports.world import seed


@pytest.fixture
def ids(engine: Engine) -> dict[str, int]:
    """Seed `engine` with the world; lead ids by name (and the rep's as "rita")."""
    return seed(engine)
