"""The API and the stage rules: a lead saved or an event posted is scored and run through the
rules within the request; a lead can be moved by hand (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from nurture.clock import ManualClock
from nurture.files.loader import load_project
from nurture.metrics import Metrics
from nurture.store.models import Enrollment, Event, ScoreChange, StageChange
from nurture.web.app import create_app
from nurture.web.state import WebContext
from tests.engine.funnel import PIPELINE

from .conftest import NOW, SEQUENCE, Site, make_settings


@pytest.fixture
def site(engine: Engine, db_url: str, tmp_path: Path) -> Site:
    """The app on the funnel of tests/engine/funnel.py (prospecting → mql → sql …)."""
    folder = tmp_path / "sequences"
    folder.mkdir()
    (folder / "pipeline.toml").write_text(PIPELINE, encoding="utf-8")
    (folder / "intro.toml").write_text(SEQUENCE, encoding="utf-8")
    project = load_project(folder)
    clock = ManualClock(NOW)
    context = WebContext(engine, make_settings(db_url), lambda: project, clock)
    return Site(engine, create_app(Metrics(), context), clock, project)


def rows(site: Site, model: type, lead_id: int) -> list:
    with Session(site.engine) as session:
        table = model.__table__  # type: ignore[attr-defined]
        query = select(model).where(table.c.lead_id == lead_id).order_by(table.c.id)
        return list(session.execute(query).scalars())


def test_a_qualifying_event_promotes_the_lead_within_the_request(site: Site) -> None:
    lead_id = site.lead(employees=500)
    site.clock.advance(timedelta(hours=1))
    response = site.api("POST", "/api/events", json={
        "client_id": "c1", "type": "clicked", "lead_id": lead_id,
        "data": {"url": "https://x.test/pricing"}})
    assert response.status_code == 200
    lead = site.get_lead(lead_id)
    assert (lead.stage, lead.stage_entered_at) == ("mql", site.clock.now())
    [change] = rows(site, StageChange, lead_id)
    assert (change.rule, change.at) == ("mql", site.clock.now())
    [score] = rows(site, ScoreChange, lead_id)
    assert score.event_id == response.json()["events"][0]["id"]
    assert [e.type for e in rows(site, Event, lead_id)] == ["clicked", "stage_changed",
                                                             "handoff_requested"]


def test_a_lead_saved_through_the_api_is_graded_and_ruled_at_once(site: Site) -> None:
    created = site.api("POST", "/api/leads", json={"email": "ann@example.com",
                                                    "employees": 80})
    lead_id = created.json()["lead"]["id"]
    assert site.get_lead(lead_id).fit == "B"
    site.clock.advance(timedelta(minutes=5))
    site.api("POST", "/api/leads", json={"email": "ann@example.com", "employees": 300,
                                         "custom": {"vip": "yes"}})
    lead = site.get_lead(lead_id)
    assert (lead.fit, lead.stage) == ("A", "sql")
    [change] = rows(site, StageChange, lead_id)
    assert change.rule == "vip"


def test_a_lead_moved_by_hand_keeps_the_reason_and_leaves_its_sequences(site: Site) -> None:
    lead_id = site.lead()
    site.sent_email(lead_id)
    site.clock.advance(timedelta(hours=2))
    response = site.api("POST", f"/api/leads/{lead_id}/move",
                        json={"stage": "sql", "reason": "asked for a demo on the phone"})
    assert response.status_code == 200
    body = response.json()
    assert body["lead"]["stage"] == "sql"
    assert body["stage_change"] | {"from_stage": "prospecting", "to_stage": "sql", "rule": None,
                                   "reason": "moved by hand: asked for a demo on the phone"
                                   } == body["stage_change"]
    [enrollment] = rows(site, Enrollment, lead_id)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "stage_changed")
    lead = site.get_lead(lead_id)
    assert lead.needs_enrollment and lead.rules_due_at == site.clock.now()
    [event] = rows(site, Event, lead_id)
    assert (event.type, event.source) == ("stage_changed", "manual")


def test_moving_an_unknown_lead_is_404(site: Site) -> None:
    for stage in ("sql", "heaven"):
        response = site.api("POST", "/api/leads/999/move", json={"stage": stage, "reason": "x"})
        assert response.status_code == 404
        assert response.json()["detail"] == "no lead with id 999"


@pytest.mark.parametrize(("stage", "words"), [
    ("heaven", "no stage 'heaven' in pipeline.toml (stages: prospecting, mql, sql"),
    ("prospecting", "ann@example.com is already in stage 'prospecting'"),
])
def test_a_move_that_cannot_be_made_is_422_naming_the_stage(site: Site, stage: str,
                                                            words: str) -> None:
    lead_id = site.lead()
    response = site.api("POST", f"/api/leads/{lead_id}/move",
                        json={"stage": stage, "reason": "because"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "stage"] and words in error["msg"]
    assert rows(site, StageChange, lead_id) == []


def test_a_move_needs_a_reason(site: Site) -> None:
    lead_id = site.lead()
    response = site.api("POST", f"/api/leads/{lead_id}/move", json={"stage": "sql"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]
