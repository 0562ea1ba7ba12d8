"""End-to-end fixtures: a `Site` (tests/e2e/harness.py) on a fresh SQLite file or a fresh
PostgreSQL schema, migrated, with a real SMTP sink on loopback. Daemons a test started and did
not stop are killed at teardown, before the schema is dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from nurture.store.engine import make_engine, upgrade
from tests.conftest import POSTGRES_URL
from tests.e2e.harness import Site
from tests.smtp_sink import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as started:
        yield started


@pytest.fixture
def sqlite_site(tmp_path: Path, sink: SmtpSink) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    engine = make_engine(url)
    upgrade(engine)
    site = Site(tmp_path, url, engine, sink)
    try:
        yield site
    finally:
        site.stop_all()
        engine.dispose()


@pytest.fixture
def postgres_site(tmp_path: Path, sink: SmtpSink,
                  postgres_admin: Engine | None) -> Iterator[Site]:
    if postgres_admin is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    site = Site(tmp_path, url, engine, sink)
    try:
        yield site
    finally:
        site.stop_all()
        engine.dispose()
        with postgres_admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
