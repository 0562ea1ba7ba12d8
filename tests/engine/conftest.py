"""The `world` fixture: see tests/engine/world.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.engine.world import World, opened_world


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    with opened_world(engine, tmp_path) as made:
        yield made
