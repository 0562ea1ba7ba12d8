"""The real ASGI app over the migrated database (SQLite and PostgreSQL, from tests/conftest.py),
called through httpx's ASGI transport: real HTTP requests, no server socket. Time is a
ManualClock the app reads; each request may come from its own address and user agent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlmodel import Session

from nurture.clock import ManualClock
from nurture.engine.tracking_links import TouchRef
from nurture.files.loader import Project, load_project
from nurture.metrics import Metrics
from nurture.settings import Settings
from nurture.store.models import Enrollment, Event, Lead, Outbox
from nurture.web.app import create_app
from nurture.web.state import WebContext

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE_URL = "https://t.nurture.test"
SECRET = "web-test-secret"
API_KEY = "key-0123456789abcdef"
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.4 Safari/605.1.15")
PERSON_IP = "198.51.100.7"
PIPELINE = """\
[[stage]]
id = "prospecting"
probability = 0.05

[[stage]]
id = "qualification"
team = "sales"
probability = 0.15
"""
SEQUENCE = 'id = "intro"\nstage = "prospecting"\n' + "".join(
    f'\n[[touch]]\nwait = "1d"\ntemplate = "note.md.j2"\nsubject = "Note {n}"\n'
    for n in range(6)
)


@dataclass
class Site:
    """The app and its database, with helpers to set up leads and sent emails."""

    engine: Engine
    app: FastAPI
    clock: ManualClock
    project: Project

    def call(self, method: str, url: str, *, ip: str = PERSON_IP, agent: str | None = BROWSER,
             **options: Any) -> httpx.Response:
        """One HTTP request from `ip` with User-Agent `agent` (None: no such header)."""
        headers = dict(options.pop("headers", {}))
        if agent is not None:
            headers.setdefault("User-Agent", agent)

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                request = client.build_request(method, url, headers=headers, **options)
                if agent is None:
                    del request.headers["User-Agent"]
                return await client.send(request)

        return asyncio.run(send())

    def api(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {API_KEY}", **options.pop("headers", {})}
        return self.call(method, path, headers=headers, **options)

    def lead(self, email: str = "ann@example.com", **fields: Any) -> int:
        with Session(self.engine) as session:
            lead = Lead(email=email, stage="prospecting", stage_entered_at=NOW, created_at=NOW,
                        updated_at=NOW, **fields)
            session.add(lead)
            session.commit()
            assert lead.id is not None
            return lead.id

    def sent_email(self, lead_id: int, sent_at: datetime | None = NOW) -> TouchRef:
        """An active enrollment of the lead whose first touch went out at `sent_at`."""
        with Session(self.engine) as session:
            enrollment = Enrollment(lead_id=lead_id, sequence_id="intro", stage="prospecting",
                                    stage_entered_at=NOW, position=1, next_touch_at=NOW,
                                    created_at=NOW, updated_at=NOW)
            session.add(enrollment)
            session.flush()
            assert enrollment.id is not None
            session.add(Outbox(enrollment_id=enrollment.id, touch_index=0, lead_id=lead_id,
                               message_id=f"<{enrollment.id}.0@nurture.test>", subject="Note",
                               status="sent", created_at=NOW, sent_at=sent_at))
            session.commit()
            return TouchRef(enrollment.id, 0)

    def events(self) -> list[Event]:
        with Session(self.engine) as session:
            return list(session.execute(select(Event).order_by(Event.id)).scalars())

    def get_lead(self, lead_id: int) -> Lead:
        with Session(self.engine) as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            return lead

    def enrollments(self, lead_id: int) -> list[Enrollment]:
        with Session(self.engine) as session:
            query = select(Enrollment).where(Enrollment.lead_id == lead_id)
            return list(session.execute(query).scalars())


def write_project(root: Path) -> Project:
    folder = root / "sequences"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.toml").write_text(PIPELINE)
    (folder / "intro.toml").write_text(SEQUENCE)
    return load_project(folder)


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url, "api_keys": [API_KEY],
        "tracking": {"base_url": BASE_URL, "secret": SECRET},
        "sender": {"name": "Nurture Sales", "email": "sales@nurture.test"},
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def site(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Site]:
    clock = ManualClock(NOW)
    project = write_project(tmp_path)
    context = WebContext(engine, make_settings(db_url), lambda: project, clock)
    yield Site(engine, create_app(Metrics(), context), clock, project)
