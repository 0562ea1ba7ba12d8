"""Shared fixtures. Storage tests run once per database: `db_url`, `engine` and `session` are
parametrized over SQLite (a file in tmp_path) and PostgreSQL (a fresh schema per test on
127.0.0.1:5432, skipped with a visible reason when no server answers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from nurture.store.engine import make_engine, upgrade
from tests.dovecot import Dovecot

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | None]:
    """An engine on the test database, or None when no PostgreSQL server answers."""
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.connect():
            pass
    except OperationalError:
        admin.dispose()
        yield None
        return
    yield admin
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nurture.db'}"
        return
    admin: Engine | None = request.getfixturevalue("postgres_admin")
    if admin is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on `db_url` with the schema migrated to head."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated database; objects stay readable after commit."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A real IMAP server on loopback (Debian's dovecot-imapd), stopped after the test."""
    server = Dovecot.start()
    try:
        yield server
    finally:
        server.stop()
