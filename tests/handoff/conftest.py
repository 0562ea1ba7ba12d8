"""The `desk` fixture: see tests/handoff/desk.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.handoff.desk import Desk, make_desk
from tests.smtp_sink import SmtpSink


@pytest.fixture
def desk(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Desk]:
    desk = make_desk(engine, db_url, tmp_path, SmtpSink().start())
    try:
        yield desk
    finally:
        desk.sink.stop()
