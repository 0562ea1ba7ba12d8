"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import nurture.store.models  # noqa: F401  (registers the tables)
from nurture.store.engine import make_engine, upgrade
from tests.plans import query_plan

TABLES = {"lead", "stage_change", "enrollment", "outbox", "event", "score_change", "rep",
          "suppression", "task", "handoff", "handoff_cursor", "notice", "alembic_version",
          "stage_entry", "lead_tally", "daily_entries", "daily_gaps", "daily_leads",
          "daily_emails", "setting"}


def test_upgrade_creates_every_table(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == TABLES


# SQLite cannot reflect indexes on expressions (lower(source)): test_lead_filters_have_indexes.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_lead_filters_have_indexes(engine: Engine) -> None:
    query = ("SELECT name FROM sqlite_master WHERE type = 'index'" if
             engine.dialect.name == "sqlite" else "SELECT indexname FROM pg_indexes")
    with engine.connect() as connection:
        names = set(connection.execute(text(query)).scalars())
    assert {"ix_lead_source_lower", "ix_lead_industry_lower"} <= names


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("0008",)
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
        assert "ix_enrollment_due" in query_plan(connection, query)



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


def test_the_reports_migration_fills_the_summaries_of_what_is_stored(engine: Engine) -> None:
    """Leads, moves, emails and events stored before the migration that added the reports'
    summaries are counted by it: as a rebuild counts them, and in every figure."""
    from alembic import command  # noqa: PLC0415

    from nurture.reports.funnel import funnel_report  # noqa: PLC0415
    from nurture.store.engine import alembic_config, migration_connection  # noqa: PLC0415
    from tests.reports.world import FEBRUARY, NOW, PIPELINE, seed_raw  # noqa: PLC0415
    from tests.reports.written import rebuilt_state, summary_state  # noqa: PLC0415

    seed_raw(engine)
    with migration_connection(engine) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    upgrade(engine)
    migrated = summary_state(engine)
    assert len(migrated["stage_entry"]) == 22 and migrated["daily_emails"]
    assert migrated == rebuilt_state(engine)
    with engine.connect() as connection:
        steps = funnel_report(connection, PIPELINE, FEBRUARY, NOW).steps
    assert [(s.stage, s.entered, s.advanced, s.lost) for s in steps] == [
        ("new", 6, 4, 1), ("qualified", 3, 1, 0), ("proposal", 3, 2, 1)]
