"""A sales desk for handoff tests: the migrated database (SQLite and PostgreSQL, from
tests/conftest.py), reps synced from settings, the repository's note templates, a pipeline
with marketing and sales stages, and a real SMTP sink on loopback. Time moves only through the
`now` each call is given."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, insert, select
from sqlmodel import Session

from nurture.engine.digest import run_digests
from nurture.engine.events import EVENTS
from nurture.engine.handoff import run_handoffs
from nurture.engine.reps import sync_reps
from nurture.engine.sla import run_sla
from nurture.files.loader import Project, load_project
from nurture.mail.smtp import SmtpTransport
from nurture.mail.transport import Transport
from nurture.settings import Settings
from nurture.store.engine import writing
from nurture.store.models import Handoff, Lead, Notice, Rep
from tests.smtp_sink import Received, SmtpSink

R = TypeVar("R")
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05

[[stage]]
id = "mql"
probability = 0.1
max_days = 10
on_stale = "prospecting"

[[stage]]
id = "sql"
team = "sales"
probability = 0.2
max_days = 21
on_stale = "mql"

[[stage]]
id = "onboarding"
team = "account_management"
probability = 0.9

[[stage]]
id = "won"
team = "sales"
probability = 1.0
outcome = "won"
"""
REPS = [
    {"name": "Ana Lima", "email": "ana@sales.test", "countries": ["US"],
     "timezone": "America/New_York"},
    {"name": "Ben Ode", "email": "ben@sales.test", "countries": ["US"],
     "timezone": "America/New_York"},
    {"name": "Cy Berg", "email": "cy@sales.test", "countries": ["DE", "FR"],
     "timezone": "Europe/Berlin"},
]
MOVE = {"rule": "sales-qualified", "from": "mql", "to": "sql"}
API_KEY = "key-0123456789abcdef"


def settings_for(db_url: str, templates: Path, **handoff: Any) -> Settings:
    reps = handoff.pop("reps", REPS)
    return Settings(database_url=db_url, templates_dir=templates, reps=reps, api_keys=[API_KEY],
                    sender={"name": "Relay Labs", "email": "pipeline@relay.test"},
                    handoff={"manager_email": "boss@sales.test", **handoff})


@dataclass
class Desk:
    engine: Engine
    sink: SmtpSink
    root: Path
    settings: Settings
    project: Project

    def configure(self, **handoff: Any) -> Settings:
        """New settings (reps synced again); handoff keys, and `reps=[...]`."""
        self.settings = settings_for(self.settings.database_url, self.root / "templates",
                                     **handoff)
        sync_reps(self.engine, self.settings.reps)
        return self.settings

    # -- running --

    def replace_sink(self) -> SmtpSink:
        """Stop the SMTP server and start one that accepts everything."""
        self.sink.stop()
        self.sink = SmtpSink().start()
        return self.sink

    def transport(self) -> Transport:
        return SmtpTransport(self.sink.host, self.sink.port, local_hostname="nurture.test")

    def _run(self, job: Callable[[Transport], Awaitable[R]]) -> R:
        async def run() -> R:
            transport = self.transport()
            try:
                return await job(transport)
            finally:
                await transport.close()

        return asyncio.run(run())

    def handoffs(self, now: datetime = NOW) -> Any:
        return self._run(lambda t: run_handoffs(self.engine, self.settings, self.project, t,
                                                now))

    def sla(self, now: datetime) -> Any:
        return self._run(lambda t: run_sla(self.engine, self.settings, self.project, t, now))

    def digests(self, now: datetime) -> Any:
        return self._run(lambda t: run_digests(self.engine, self.settings, self.project, t,
                                               now))

    # -- data --

    def add_lead(self, email: str, now: datetime = NOW, **fields: Any) -> int:
        values: dict[str, Any] = {"stage": "sql", "first_name": "Pat", "last_name": "Quinn",
                                  "country": "US", "company": "Acme", **fields}
        lead = Lead(email=email, stage_entered_at=now, created_at=now, updated_at=now,
                    **values)
        with Session(self.engine) as session:
            session.add(lead)
            session.commit()
            assert lead.id is not None
            return lead.id

    def event(self, lead_id: int, kind: str, at: datetime = NOW, *, outbox_id: int | None = None,
              machine: bool = False, **data: Any) -> int:
        """Store an event as it is, without the consequences record_event applies (rules
        and scores), so a test says exactly what the lead's history is."""
        with writing(self.engine) as connection:
            return int(connection.execute(insert(EVENTS).values(
                lead_id=lead_id, type=kind, at=at, data=data, outbox_id=outbox_id,
                machine=machine).returning(EVENTS.c.id)).scalar_one())

    def request(self, lead_id: int, at: datetime = NOW, **move: Any) -> int:
        """What the rules engine records when a rule with `handoff = true` fires."""
        return self.event(lead_id, "handoff_requested", at, **{**MOVE, **move})

    def rep_id(self, email: str) -> int:
        with Session(self.engine) as session:
            rep = session.execute(select(Rep).where(Rep.email == email)).scalar_one()
            assert rep.id is not None
            return rep.id

    def owner(self, lead_id: int) -> str | None:
        with Session(self.engine) as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            rep = session.get(Rep, lead.owner_id) if lead.owner_id else None
            return rep.email if rep else None

    def handoff_rows(self, lead_id: int | None = None) -> list[Handoff]:
        query = select(Handoff).order_by(Handoff.id)  # type: ignore[arg-type]
        if lead_id is not None:
            query = query.where(Handoff.lead_id == lead_id)
        with Session(self.engine) as session:
            return list(session.execute(query).scalars())

    def notices(self) -> list[Notice]:
        with Session(self.engine) as session:
            return list(session.execute(select(Notice).order_by(Notice.id))  # type: ignore
                        .scalars())

    # -- mail --

    def received(self, email: str) -> list[Received]:
        return [m for m in self.sink.messages if m.recipients == (email,)]

    def subjects(self, email: str) -> list[str]:
        return [str(m.parsed()["Subject"]) for m in self.received(email)]

    def text(self, message: Received) -> str:
        part = message.parsed().get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    def html(self, message: Received) -> str:
        part = message.parsed().get_body(("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


def make_desk(engine: Engine, db_url: str, root: Path, sink: SmtpSink) -> Desk:
    templates = root / "templates"
    templates.mkdir(parents=True)
    for path in REPO_TEMPLATES.glob("_*.j2"):
        if path.name != "_layout.html.j2":
            shutil.copy(path, templates / path.name)
    sequences = root / "sequences"
    sequences.mkdir()
    (sequences / "pipeline.toml").write_text(PIPELINE)
    settings = settings_for(db_url, templates)
    sync_reps(engine, settings.reps)
    return Desk(engine, sink, root, settings, load_project(sequences))
