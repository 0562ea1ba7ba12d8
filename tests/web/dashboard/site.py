"""The dashboard's test site: the world of tests/reports/world.py (a fixed pipeline history whose
report figures are computed by hand there) behind the real ASGI app, with one dashboard user.
Used by the HTTP tests here and by the browser tests (tests/browser/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from nurture.clock import ManualClock
from nurture.core.passwords import hash_password
from nurture.files.loader import Project, load_project
from nurture.metrics import Metrics
from nurture.reports.filters import Filters
from nurture.reports.forecast import forecast_report
from nurture.reports.funnel import funnel_report
from nurture.reports.sequences import sequences_report
from nurture.reports.sources import sources_report
from nurture.reports.tables import (
    Table,
    forecast_tables,
    funnel_tables,
    sequences_tables,
    sources_tables,
    velocity_tables,
)
from nurture.reports.velocity import velocity_report
from nurture.settings import Settings
from nurture.web.app import create_app
from nurture.web.dashboard.formats import shown
from nurture.web.state import WebContext
from tests.reports.world import NOW, PIPELINE, PIPELINE_TOML

USER = "maria"
PASSWORD = "correct horse battery"
API_KEY = "dashboard-api-key-0123456789"
SECRET = "dashboard-test-secret"
# A cheap scrypt cost keeps the tests quick; the parameters travel with the hash.
PASSWORD_HASH = hash_password(PASSWORD, n=2**10)
SEQUENCE = 'id = "{id}"\nstage = "{stage}"\n' + (
    '\n[[touch]]\nwait = "1d"\ntemplate = "note.md.j2"\nsubject = "Note"\n' * 6)


def write_world_project(root: Path) -> Project:
    """The world's pipeline and its two sequences, "welcome" (new) and "nudge" (qualified)."""
    folder = root / "sequences"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.toml").write_text(PIPELINE_TOML, encoding="utf-8")
    for sequence_id, stage in (("welcome", "new"), ("nudge", "qualified")):
        (folder / f"{sequence_id}.toml").write_text(
            SEQUENCE.format(id=sequence_id, stage=stage), encoding="utf-8")
    return load_project(folder)


def dashboard_settings(db_url: str, **dashboard: Any) -> Settings:
    section = {"users": [{"name": USER, "password_hash": PASSWORD_HASH}], **dashboard}
    return Settings(database_url=db_url, api_keys=[API_KEY], tracking={"secret": SECRET},
                    dashboard=section)


def dashboard_context(engine: Engine, settings: Settings, project: Project,
                      clock: ManualClock | None = None) -> WebContext:
    return WebContext(engine, settings, lambda: project, clock or ManualClock(NOW))


def dashboard_app(context: WebContext) -> Any:
    return create_app(Metrics(), context)


# Each report page, the report it shows and the tables the command line prints of it.
PAGES: dict[str, tuple[Callable[..., Any], Callable[[Any], list[Table]]]] = {
    "/dashboard": (funnel_report, funnel_tables),
    "/dashboard/velocity": (velocity_report, velocity_tables),
    "/dashboard/forecast": (forecast_report, forecast_tables),
    "/dashboard/sequences": (sequences_report, sequences_tables),
    "/dashboard/sources": (sources_report, sources_tables),
}


def report_of(engine: Engine, path: str, filters: Filters) -> Any:
    """The report layer's report behind the page at `path`, at the world's NOW."""
    build, _ = PAGES[path]
    with engine.connect() as connection:
        return build(connection, PIPELINE, filters, NOW)


def as_shown(table: Table) -> list[list[str]]:
    """A report table as the page must show it: header then rows ("no data" for none), or
    name/value lines for a record."""
    if table.is_record:
        return [[column.name, shown(value, column.kind)]
                for column, value in zip(table.columns, table.rows[0], strict=True)]
    rows = [[shown(value, column.kind) for column, value in zip(table.columns, row, strict=True)]
            for row in table.rows]
    return [[column.name for column in table.columns], *(rows or [["no data"]])]
