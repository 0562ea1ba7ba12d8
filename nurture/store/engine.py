"""Engines and schema upgrades for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 5000
_IMMEDIATE = "nurture_sqlite_immediate"
_MIGRATION_LOCK = 0x6E75727475726500  # "nurture\0": the advisory lock migrations hold


def _json_serializer(value: Any) -> str:
    # Sorted keys make equal JSON values equal text on SQLite, so unchanged rows compare equal.
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` URLs use psycopg 3, SQLite gets WAL and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, json_serializer=_json_serializer, pool_pre_ping=True)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
            "use sqlite:///path/to/nurture.db or postgresql://user@host/dbname"
        )
    engine = create_engine(
        parsed, json_serializer=_json_serializer, connect_args={"check_same_thread": False}
    )
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (below): sqlite3's legacy mode would run SELECTs and DDL
    # outside the transaction, so reads would not be repeatable and migrations not atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode except on power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a transaction that writes.

    On SQLite it begins IMMEDIATE, taking the write lock up front: a DEFERRED transaction
    that has read and then writes while another connection writes fails at once with
    "database is locked" (SQLite cannot wait there without breaking isolation), where an
    IMMEDIATE one waits out the busy timeout. Read-only work keeps plain BEGIN, so readers
    never queue behind writers (WAL).
    """
    with writer_connection(engine) as connection, connection.begin():
        yield connection


def writer_connection(engine: Engine) -> Connection:
    """A connection whose transactions write (`writing`), to keep for several of them."""
    connection = engine.connect()
    connection.execution_options(**{_IMMEDIATE: True})
    return connection


def alembic_config() -> Config:
    """The Alembic configuration of the packaged migrations."""
    config = Config(str(Path(__file__).with_name("alembic.ini")))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "heads") -> None:
    """Bring the schema up to `revision` (every head by default); safe to run on every start."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with migration_connection(engine) as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction, for migrations.

    On SQLite, foreign keys are off while it runs: Alembic's batch mode rebuilds a table by
    dropping it, and with foreign keys on that DROP would fire every ON DELETE CASCADE. The
    schema is checked for dangling references before the transaction commits.
    """
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if is_sqlite:
            _sqlite_foreign_keys(connection, on=False)
            connection.execution_options(**{_IMMEDIATE: True})  # one migrator at a time
        try:
            with connection.begin():
                if not is_sqlite:  # workers starting together migrate one after the other
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                       {"key": _MIGRATION_LOCK})
                yield connection
                if is_sqlite:
                    _check_foreign_keys(connection)
        finally:
            if is_sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    # Straight to the driver: the pragma is ignored inside a transaction, and going through
    # SQLAlchemy would begin one.
    driver_connection: Any = connection.connection.driver_connection
    driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise RuntimeError(
            f"migration left {len(broken)} row(s) pointing at missing rows, e.g. {table} row "
            f"{rowid} -> {parent}; the transaction was rolled back"
        )
