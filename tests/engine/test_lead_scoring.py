"""Scores of stored leads, on SQLite and PostgreSQL: every event rescores its lead at once, from
its stored history, and every change is written down with its event and reason."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from nurture.core.scoring import decay_factor
from nurture.engine.events import LEADS, EventBatch, NewEvent, record_event
from nurture.engine.rules_sweep import mark_changed_due
from nurture.engine.scoring import events_as_json
from nurture.files.leads_csv import LeadRow
from nurture.store.engine import writing
from nurture.store.leads import upsert_leads
from nurture.store.models import Lead
from tests.engine.funnel import DAY, T0, Funnel, make_funnel
from tests.plans import query_plan

PRICING = "https://relay.example.com/pricing?plan=team"


@pytest.fixture
def funnel(engine: Engine, tmp_path: Path) -> Funnel:
    return make_funnel(engine, tmp_path)


def test_each_event_is_scored_at_once_with_its_reason(funnel: Funnel) -> None:
    lead_id = funnel.lead(employees=10)
    click = funnel.record(lead_id, "clicked", T0, url=PRICING)
    reply = funnel.record(lead_id, "replied", T0 + DAY)
    lead = funnel.get(lead_id)
    assert lead.score == pytest.approx(15 * decay_factor(T0, T0 + DAY, 30) + 15)
    assert lead.scored_at == T0 + DAY
    [clicked, decay, replied] = funnel.score_changes(lead_id)
    assert (clicked.event_id, clicked.delta, clicked.score_after) == (click, 15, 15)
    assert clicked.reason == ("clicked relay.example.com/pricing: +5, "
                              "+10 bonus ('/pricing' in event.url)")
    assert decay.event_id is None and decay.reason == "decay (half-life 30 days)"
    assert decay.delta == pytest.approx(15 * decay_factor(T0, T0 + DAY, 30) - 15, abs=1e-4)
    assert (replied.event_id, replied.delta, replied.reason) == (reply, 15, "replied: +15")
    assert replied.score_after == pytest.approx(lead.score)


def test_negative_points_are_explained_too(funnel: Funnel) -> None:
    lead_id = funnel.lead()
    funnel.record(lead_id, "unsubscribed", T0)
    [change] = funnel.score_changes(lead_id)
    assert (change.delta, change.reason) == (-50, "unsubscribed: -50")
    assert funnel.get(lead_id).status == "unsubscribed"


def test_machine_events_score_nothing(funnel: Funnel) -> None:
    lead_id = funnel.lead()
    funnel.record(lead_id, "clicked", T0, url=PRICING, machine=True)
    assert funnel.get(lead_id).score == 0
    assert funnel.score_changes(lead_id) == []


def test_caps_hold_opens_to_their_points_per_week(funnel: Funnel) -> None:
    lead_id = funnel.lead()
    for hour in range(5):
        funnel.record(lead_id, "opened", T0 + hour * DAY / 24)
    changes = funnel.score_changes(lead_id)
    assert [c.reason for c in changes if c.event_id] == ["opened: +1"] * 3
    assert funnel.get(lead_id).score == pytest.approx(3, abs=0.01)


EVENTS = [("opened", 0.0, {}), ("clicked", 0.5, {"url": PRICING}), ("opened", 0.6, {}),
          ("opened", 1.0, {}), ("replied", 2.0, {}), ("clicked", 3.0, {"url": "/blog"}),
          ("opened", 3.1, {}), ("opened", 3.2, {}), ("unsubscribed", 4.0, {})]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_score_is_the_same_whatever_the_order_events_arrive_in(funnel: Funnel,
                                                                   seed: int) -> None:
    in_order, shuffled = funnel.lead("a@example.com"), funnel.lead("b@example.com")
    now = T0 + 5 * DAY
    for kind, days, data in EVENTS:
        funnel.record(in_order, kind, T0 + days * DAY, now, **data)
    late = list(EVENTS)
    random.Random(seed).shuffle(late)
    for kind, days, data in late:
        funnel.record(shuffled, kind, T0 + days * DAY, now, **data)
    first, second = funnel.get(in_order), funnel.get(shuffled)
    assert first.score == pytest.approx(second.score, abs=1e-6)
    assert first.score == pytest.approx(
        sum(c.delta for c in funnel.score_changes(shuffled)), abs=1e-3)


def test_a_stored_score_decays_with_the_half_life_and_the_sweep_writes_it_down(
        funnel: Funnel) -> None:
    lead_id = funnel.lead()
    funnel.record(lead_id, "replied", T0)
    lead = funnel.get(lead_id)
    assert lead.rules_due_at is not None and T0 < lead.rules_due_at < T0 + 3 * DAY
    funnel.sweep(T0 + 30 * DAY)
    halved = funnel.get(lead_id)
    assert halved.score == pytest.approx(7.5, abs=1e-3)
    assert funnel.score_changes(lead_id)[-1].reason == "decay (half-life 30 days)"


def test_decay_too_small_to_show_is_not_written(funnel: Funnel) -> None:
    lead_id = funnel.lead()
    funnel.record(lead_id, "replied", T0)
    report = funnel.sweep(T0 + DAY / 24)  # not due yet
    assert report.leads == 0
    with funnel.engine.begin() as connection:
        connection.execute(update(LEADS).where(LEADS.c.id == lead_id).values(rules_due_at=T0))
    funnel.sweep(T0 + DAY / 24)
    assert len(funnel.score_changes(lead_id)) == 1
    assert funnel.get(lead_id).scored_at == T0


def test_an_import_that_changes_a_lead_has_the_next_sweep_grade_it_again(
        funnel: Funnel) -> None:
    lead_id = funnel.lead(employees=10)
    funnel.record(lead_id, "opened", T0)
    assert funnel.get(lead_id).fit == "D"
    with writing(funnel.engine) as connection:
        upsert_leads(connection, [LeadRow(email="ann@example.com", employees=80),
                                  LeadRow(email="new@example.com", employees=300)],
                     "prospecting", T0 + DAY)
        assert mark_changed_due(connection, T0 + DAY) == 1  # the new lead is due already
    report = funnel.sweep(T0 + DAY)
    assert (report.leads, report.rescored) == (2, 2)
    assert funnel.get(lead_id).fit == "B"
    assert funnel.get(lead_id).score == pytest.approx(decay_factor(T0, T0 + DAY, 30), abs=1e-4)


def test_imported_leads_get_a_score_and_fit_at_the_next_sweep(funnel: Funnel) -> None:
    with writing(funnel.engine) as connection:
        upsert_leads(connection, [LeadRow(email="big@example.com", employees=500),
                                  LeadRow(email="small@example.com", employees=5)],
                     "prospecting", T0)
    with Session(funnel.engine) as session:
        leads = {lead.email: lead for lead in session.execute(select(Lead)).scalars()}
    assert all(lead.rules_due_at is not None and lead.rules_due_at < T0
               for lead in leads.values())
    report = funnel.sweep(T0 + DAY)
    assert (report.leads, report.rescored) == (2, 2)
    assert [funnel.get(leads[email].id or 0).fit
            for email in ("big@example.com", "small@example.com")] == ["A", "D"]
    assert funnel.sweep(T0 + DAY).leads == 0  # looked at once, not at every sweep


def test_a_batch_of_events_is_assessed_once_per_lead_with_a_row_per_event(
        funnel: Funnel) -> None:
    first, second = funnel.lead("a@example.com", employees=80), funnel.lead("b@example.com")
    batch = EventBatch()
    with writing(funnel.engine) as connection:
        ids = [record_event(connection, funnel.project, NewEvent(lead, kind, T0, data), T0, batch)
               for lead, kind, data in ((first, "clicked", {"url": PRICING}),
                                        (first, "replied", {}), (second, "opened", {}))]
        assert len(batch.news) == 2
        report = batch.assess(connection, funnel.project, T0)
    assert (report.leads, report.rescored, report.moves) == (2, 2, 1)
    assert [(c.event_id, c.delta, c.score_after) for c in funnel.score_changes(first)] == [
        (ids[0], 15, 15), (ids[1], 15, 30)]
    assert [c.event_id for c in funnel.score_changes(second)] == [ids[2]]
    assert [c.rule for c in funnel.stage_changes(first)] == ["mql"]
    assert funnel.get(first).last_engaged_at == T0


def test_an_engagement_recorded_late_never_moves_last_engaged_back(funnel: Funnel) -> None:
    lead_id = funnel.lead()
    funnel.record(lead_id, "opened", T0 + 2 * DAY)
    funnel.record(lead_id, "clicked", T0, T0 + 2 * DAY, url="/blog")
    assert funnel.get(lead_id).last_engaged_at == T0 + 2 * DAY
    assert funnel.get(lead_id).score == pytest.approx(1 + 5 * decay_factor(T0, T0 + 2 * DAY, 30),
                                                      abs=1e-3)


def test_an_event_no_rule_can_see_leaves_the_lead_alone(funnel: Funnel) -> None:
    lead_id = funnel.lead()
    funnel.record(lead_id, "replied", T0)
    before = funnel.get(lead_id)
    funnel.record(lead_id, "delivered", T0 + DAY)
    after = funnel.get(lead_id)
    assert (after.score, after.scored_at, after.rules_due_at) == (
        before.score, before.scored_at, before.rules_due_at)
    assert len(funnel.score_changes(lead_id)) == 1


def test_scoring_events_are_read_from_their_index_alone(engine: Engine) -> None:
    # A rebuilt score reads a lead's entries of the event index side by side; the table only
    # for the data of the types a bonus reads (a million leads' events do not fit in memory).
    query = select(LEADS.c.id, events_as_json(engine.dialect.name)).where(LEADS.c.id == 1)
    sql = str(query.params(kinds=["opened", "clicked"], with_data=["clicked"]).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True,
                                                "render_postcompile": True}))
    with engine.connect() as connection:
        plan = query_plan(connection, sql)
    assert ("Index Only Scan using ix_event_lead_id_at_type_machine" in plan
            if engine.dialect.name == "postgresql"
            else "USING COVERING INDEX ix_event_lead_id_at_type_machine" in plan), plan
