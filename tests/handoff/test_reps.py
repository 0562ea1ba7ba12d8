"""Reps: synced from the configuration, and out of office through the API (real ASGI app)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from nurture.clock import ManualClock
from nurture.engine.reps import sync_reps
from nurture.metrics import Metrics
from nurture.store.models import Rep
from nurture.web import reps
from nurture.web.app import create_app
from nurture.web.state import WebContext
from tests.handoff.desk import API_KEY, NOW, REPS, Desk


def _rows(desk: Desk) -> dict[str, Rep]:
    with Session(desk.engine) as session:
        return {rep.email: rep for rep in session.exec(select(Rep))}


def test_sync_copies_the_configuration_and_keeps_what_the_api_set(desk: Desk) -> None:
    desk.configure(reps=[{"name": "Ana Lima", "email": "ANA@sales.test", "regions": ["West"],
                          "industries": ["software"], "capacity": 20, "weight": 3,
                          "timezone": "America/Denver", "working_hours": "08:00-16:00",
                          "working_days": "mon-thu",
                          "out_of_office": [{"start": "2026-07-01", "end": "2026-07-03"}]}])
    with desk.engine.begin() as connection:
        connection.execute(Rep.__table__.update().values(  # type: ignore[attr-defined]
            away=[{"start": "2026-03-09", "end": "2026-03-10"}]))
    sync_reps(desk.engine, desk.settings.reps)

    rows = _rows(desk)
    ana = rows["ana@sales.test"]
    assert (ana.regions, ana.industries, ana.capacity, ana.weight, ana.timezone,
            ana.working_hours, ana.working_days, ana.active) == (
        ["West"], ["software"], 20, 3, "America/Denver", "08:00-16:00", "mon-thu", True)
    assert ana.out_of_office == [{"start": "2026-07-01", "end": "2026-07-03"}]
    assert ana.away == [{"start": "2026-03-09", "end": "2026-03-10"}]
    assert not rows["ben@sales.test"].active and not rows["cy@sales.test"].active  # removed


def test_a_rep_out_of_office_gets_no_new_leads(desk: Desk) -> None:
    desk.configure(reps=[{**REPS[0], "out_of_office": [{"start": "2026-03-01",
                                                         "end": "2026-03-02"}]}, REPS[1]])
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)
    desk.handoffs(NOW)
    assert desk.owner(lead) == "ben@sales.test"


@pytest.fixture
def app(desk: Desk) -> FastAPI:
    context = WebContext(desk.engine, desk.settings, lambda: desk.project, ManualClock(NOW))
    made = create_app(Metrics(), context)
    made.include_router(reps.router)
    return made


def _call(app: FastAPI, method: str, path: str, key: str | None = API_KEY,
          **options: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://n.test") as client:
            return await client.request(method, path, headers=headers, **options)

    return asyncio.run(send())


def test_the_api_sets_out_of_office_and_assignment_follows(desk: Desk, app: FastAPI) -> None:
    periods = {"periods": [{"start": "2026-03-02", "end": "2026-03-06"}]}
    response = _call(app, "PUT", "/api/reps/Ana@Sales.test/out-of-office", json=periods)

    assert response.status_code == 200
    assert response.json()["away"] == periods["periods"]
    lead = desk.add_lead("pat@acme.test")
    desk.request(lead)
    desk.handoffs(NOW)
    assert desk.owner(lead) == "ben@sales.test"
    listed = {rep["email"]: rep for rep in _call(app, "GET", "/api/reps").json()}
    assert (listed["ben@sales.test"]["load"], listed["ana@sales.test"]["load"]) == (1, 0)
    assert listed["ana@sales.test"]["away"] == periods["periods"]

    cleared = _call(app, "PUT", "/api/reps/ana@sales.test/out-of-office", json={"periods": []})
    assert cleared.json()["away"] == []
    other = desk.add_lead("sam@other.test", company="Other")
    desk.request(other)
    desk.handoffs(NOW + timedelta(seconds=5))
    assert desk.owner(other) == "ana@sales.test"


def test_a_configured_rep_not_yet_synced_can_be_set_out_of_office(
    desk: Desk, app: FastAPI
) -> None:
    with desk.engine.begin() as connection:
        connection.execute(Rep.__table__.delete())  # type: ignore[attr-defined]
    response = _call(app, "PUT", "/api/reps/cy@sales.test/out-of-office",
                     json={"periods": [{"start": "2026-03-02", "end": "2026-03-02"}]})
    assert response.status_code == 200
    assert set(_rows(desk)) == {"ana@sales.test", "ben@sales.test", "cy@sales.test"}


def test_the_api_refuses_strangers_unknown_reps_and_bad_periods(app: FastAPI) -> None:
    body = {"periods": [{"start": "2026-03-02", "end": "2026-03-06"}]}
    assert _call(app, "GET", "/api/reps", key=None).status_code == 401
    assert _call(app, "PUT", "/api/reps/ana@sales.test/out-of-office", key="wrong",
                 json=body).status_code == 401
    unknown = _call(app, "PUT", "/api/reps/zed@sales.test/out-of-office", json=body)
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404, "no rep with email zed@sales.test")
    backwards = _call(app, "PUT", "/api/reps/ana@sales.test/out-of-office",
                      json={"periods": [{"start": "2026-03-06", "end": "2026-03-02"}]})
    assert backwards.status_code == 422
    assert "end 2026-03-02 is before start 2026-03-06" in backwards.text
