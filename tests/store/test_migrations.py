"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import nurture.store.models  # noqa: F401  (registers the tables)
from nurture.store.engine import make_engine, upgrade

TABLES = {"lead", "stage_change", "enrollment", "outbox", "event", "score_change", "rep",
          "suppression", "task", "handoff", "handoff_cursor", "notice", "alembic_version"}


def test_upgrade_creates_every_table(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == TABLES


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("0003",)
        ]


def test_upgrade_accepts_a_url(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "lead" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_due_index_holds_only_active_enrollments(engine: Engine) -> None:
    indexes = {index["name"]: index for index in inspect(engine).get_indexes("enrollment")}
    due = indexes["ix_enrollment_due"]
    assert due["column_names"] == ["next_touch_at"]
    where = due["dialect_options"][f"{engine.dialect.name}_where"]
    assert "status" in str(where) and "'active'" in str(where)


def test_due_query_uses_the_due_index(engine: Engine) -> None:
    query = ("SELECT id FROM enrollment WHERE status = 'active' "
             "AND next_touch_at <= CURRENT_TIMESTAMP ORDER BY next_touch_at")
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))  # empty tables favour a scan
            plan = connection.execute(text(f"EXPLAIN {query}")).scalars().all()
        else:
            plan = [row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))]
    assert "ix_enrollment_due" in " ".join(plan)



def test_workers_starting_together_migrate_one_after_the_other(db_url: str) -> None:
    import subprocess
    import sys

    code = "import sys; from nurture.store.engine import upgrade; upgrade(sys.argv[1])"
    workers = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE)
               for _ in range(3)]
    errors = [worker.communicate(timeout=60)[1].decode() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], errors
    engine = make_engine(db_url)
    try:
        assert "lead" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
