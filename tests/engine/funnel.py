"""A small funnel for the scoring and rules tests: pipeline.toml with every kind of rule, one
sequence per outreach stage, written to tmp_path and loaded as the project; leads and events
go into the migrated database (SQLite and PostgreSQL). Time moves only through `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from nurture.engine.events import NewEvent, record_event
from nurture.engine.rules_sweep import SweepReport, sweep_rules
from nurture.files.loader import Project, load_project
from nurture.store.engine import writing
from nurture.store.models import Enrollment, Event, Lead, ScoreChange, StageChange

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05
max_days = 30
on_stale = "nurture"

[[stage]]
id = "mql"
probability = 0.1
max_days = 20
on_stale = "prospecting"

[[stage]]
id = "sql"
team = "sales"
probability = 0.2

[[stage]]
id = "won"
probability = 1.0
outcome = "won"

[[stage]]
id = "customer"
probability = 1.0

[[stage]]
id = "lost"
probability = 0.0
outcome = "lost"

[[stage]]
id = "nurture"
probability = 0.01
max_days = 60
on_stale = "disqualified"

[scoring]
half_life_days = 30
points = { opened = 1, clicked = 5, replied = 15, unsubscribed = -50 }

[[scoring.bonus]]
event = "clicked"
when = "'/pricing' in event.url"
points = 10

[scoring.caps.opened]
points = 3
per = "7d"

[scoring.fit]
A = "lead.employees >= 200"
B = "lead.employees >= 50"

[[rule]]
name = "vip"
from = "*"
to = "sql"
when = "lead.custom.vip == 'yes'"

[[rule]]
name = "mql"
from = "prospecting"
to = "mql"
when = "score >= 15 and fit in ['A', 'B']"
handoff = true

[[rule]]
name = "sql"
from = "mql"
to = "sql"
when = "score >= 30 and fit == 'A'"

[[rule]]
name = "first-look"
from = "nurture"
to = "mql"
when = "fit == 'A'"

[[rule]]
name = "cold"
from = "mql"
to = "nurture"
when = "days_since_engagement > 10"

[[rule]]
name = "worn-out"
from = "sql"
to = "nurture"
action = "demote"
when = "touches_sent >= 2 and sequence_finished"

[[rule]]
name = "onboard"
from = "won"
to = "customer"
when = "days_in_stage >= 1"

[[rule]]
name = "recycle"
from = "lost"
to = "nurture"
action = "recycle"
when = "days_in_stage >= 90 and fit in ['A', 'B']"
"""


def sequence(stage: str) -> str:
    return (f'id = "{stage}-intro"\nstage = "{stage}"\n\n[[touch]]\nwait = "0d"\n'
            'template = "note.md.j2"\nsubject = "Hello"\n')


@dataclass
class Funnel:
    engine: Engine
    project: Project

    def lead(self, email: str = "ann@example.com", stage: str = "prospecting",
             at: datetime = T0, **fields: Any) -> int:
        """A lead as the ORM inserts it: never scored, not due for the sweep."""
        with Session(self.engine) as session:
            lead = Lead(email=email, stage=stage, stage_entered_at=at, created_at=at,
                        updated_at=at, **fields)
            session.add(lead)
            session.commit()
            assert lead.id is not None
            return lead.id

    def record(self, lead_id: int, kind: str, at: datetime, now: datetime | None = None,
               **data: Any) -> int:
        machine = bool(data.pop("machine", False))
        with writing(self.engine) as connection:
            return record_event(connection, self.project,
                                NewEvent(lead_id, kind, at, data, machine=machine), now)

    def sweep(self, now: datetime, **options: Any) -> SweepReport:
        return sweep_rules(self.engine, self.project, now, **options)

    def get(self, lead_id: int) -> Lead:
        with Session(self.engine) as session:
            found = session.get(Lead, lead_id)
            assert found is not None
            return found

    def stage_changes(self, lead_id: int) -> list[StageChange]:
        return self._rows(StageChange, lead_id)

    def score_changes(self, lead_id: int) -> list[ScoreChange]:
        return self._rows(ScoreChange, lead_id)

    def events(self, lead_id: int, kind: str) -> list[Event]:
        return [e for e in self._rows(Event, lead_id) if e.type == kind]

    def enrollments(self, lead_id: int) -> list[Enrollment]:
        return self._rows(Enrollment, lead_id)

    def _rows(self, model: Any, lead_id: int) -> list[Any]:
        table = model.__table__
        with Session(self.engine) as session:
            query = select(model).where(table.c.lead_id == lead_id).order_by(table.c.id)
            return list(session.execute(query).scalars())


def make_funnel(engine: Engine, root: Path, pipeline: str = PIPELINE) -> Funnel:
    folder = root / "sequences"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.toml").write_text(pipeline, encoding="utf-8")
    for stage in ("prospecting", "mql", "sql", "nurture"):
        (folder / f"{stage}.toml").write_text(sequence(stage), encoding="utf-8")
    return Funnel(engine, load_project(folder))
