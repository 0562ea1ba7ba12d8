"""The `world` fixture: see tests/engine/world.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.engine.world import LAYOUT, NOTE, World
from tests.smtp_sink import SmtpSink


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    (tmp_path / "templates").mkdir()
    shutil.copy(LAYOUT, tmp_path / "templates" / "_layout.html.j2")
    made = World(engine, SmtpSink().start(), tmp_path)
    made.template("note.md.j2", NOTE)
    try:
        yield made
    finally:
        made.sink.stop()
