"""Engines: SQLite gets WAL, foreign keys and a busy timeout; other databases are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from nurture.store.engine import make_engine, migration_connection


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        engine.dispose()


def test_sqlite_rolls_back_ddl_and_reads_inside_the_transaction(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.rollback()
            tables = connection.execute(text("SELECT name FROM sqlite_master")).all()
        assert tables == []
    finally:
        engine.dispose()


def test_postgresql_url_without_driver_uses_psycopg() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_other_databases_are_refused_with_the_urls_to_use() -> None:
    with pytest.raises(ValueError, match="sqlite:///"):
        make_engine("mysql://root:secret@localhost/nurture")


def test_sqlite_migrations_run_with_foreign_keys_off_and_restore_them(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with migration_connection(engine) as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 0
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_a_sqlite_migration_leaving_dangling_references_is_rolled_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        dangling = pytest.raises(RuntimeError, match=r"1 row\(s\) pointing at missing rows")
        with dangling, migration_connection(engine) as connection:
            connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            connection.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                                    "parent_id INTEGER REFERENCES parent (id))"))
            connection.execute(text("INSERT INTO child VALUES (1, 42)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM sqlite_master")).all() == []
    finally:
        engine.dispose()
