"""Fixtures: a workspace per test (see workspace.py), on SQLite or on each test database."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.workspace import Workspace, make_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A workspace on a SQLite file, for commands that barely touch the database."""
    return make_workspace(tmp_path / "work", f"sqlite:///{tmp_path / 'nurture.db'}")


@pytest.fixture
def db_workspace(tmp_path: Path, db_url: str) -> Iterator[Workspace]:
    """A workspace on each database of the `db_url` fixture (SQLite, then PostgreSQL)."""
    yield make_workspace(tmp_path / "work", db_url)
    gc.collect()  # close the pools of the engines the commands opened before the schema goes
