"""Stage rules on stored leads, on SQLite and PostgreSQL: applied at once when an event arrives,
by the sweep when time passes, each move written down with its rule, reason and scores."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select
from sqlmodel import Session

from nurture.engine import rules_sweep
from nurture.engine.enrollment_sweep import enroll_pending
from nurture.engine.rules_sweep import SweepReport, mark_due
from nurture.store.engine import writing
from nurture.store.models import Enrollment, Outbox, StageChange
from nurture.store.stage_sets import stage_set
from tests.engine.funnel import DAY, T0, Funnel, make_funnel
from tests.plans import query_plan

PRICING = "https://relay.example.com/pricing"


@pytest.fixture
def funnel(engine: Engine, tmp_path: Path) -> Funnel:
    return make_funnel(engine, tmp_path)


def enroll(funnel: Funnel, now: object = T0) -> None:
    enroll_pending(funnel.engine, funnel.project, now, "UTC", timedelta(0))  # type: ignore[arg-type]


def test_a_qualifying_click_promotes_the_lead_within_the_same_transaction(
        funnel: Funnel) -> None:
    lead_id = funnel.lead(employees=80)
    enroll(funnel)
    click_at = T0 + DAY
    funnel.record(lead_id, "clicked", click_at, url=PRICING)
    lead = funnel.get(lead_id)
    assert (lead.stage, lead.stage_entered_at, lead.needs_enrollment) == ("mql", click_at, True)
    [change] = funnel.stage_changes(lead_id)
    assert (change.from_stage, change.to_stage, change.rule, change.at) == (
        "prospecting", "mql", "mql", click_at)
    assert change.reason == "promote by rule mql: score >= 15 and fit in ['A', 'B']"
    assert (change.score_before, change.score_after) == (15, 15)
    [stopped] = funnel.enrollments(lead_id)
    assert (stopped.status, stopped.stop_reason) == ("stopped", "stage_changed")
    [moved] = funnel.events(lead_id, "stage_changed")
    assert moved.data == {"from": "prospecting", "to": "mql", "rule": "mql",
                          "reason": change.reason}
    [handoff] = funnel.events(lead_id, "handoff_requested")
    assert handoff.data == {"rule": "mql", "from": "prospecting", "to": "mql"}
    assert handoff.source == "rules" and handoff.at == click_at
    enroll(funnel, click_at)
    assert [e.stage for e in funnel.enrollments(lead_id)] == ["prospecting", "mql"]


def test_a_lead_that_qualifies_for_two_stages_climbs_both_at_once(funnel: Funnel) -> None:
    lead_id = funnel.lead(employees=500)
    funnel.record(lead_id, "replied", T0)
    funnel.record(lead_id, "clicked", T0, url=PRICING)
    assert [(c.from_stage, c.to_stage, c.rule) for c in funnel.stage_changes(lead_id)] == [
        ("prospecting", "mql", "mql"), ("mql", "sql", "sql")]
    assert funnel.get(lead_id).stage == "sql"
    assert len(funnel.events(lead_id, "handoff_requested")) == 1  # only "mql" hands off


def test_machine_clicks_move_nobody(funnel: Funnel) -> None:
    lead_id = funnel.lead(employees=500)
    funnel.record(lead_id, "clicked", T0, url=PRICING, machine=True)
    funnel.record(lead_id, "clicked", T0, url=PRICING, machine=True)
    assert funnel.get(lead_id).stage == "prospecting"
    assert funnel.stage_changes(lead_id) == []


def test_a_stale_lead_is_moved_by_the_sweep_when_its_time_is_up(funnel: Funnel) -> None:
    lead_id = funnel.lead(stage="mql", employees=5)
    funnel.record(lead_id, "opened", T0)  # engaged: the "cold" rule does not fire
    assert funnel.get(lead_id).rules_due_at == T0 + DAY  # when days_since_engagement ticks
    funnel.record(lead_id, "opened", T0 + 10 * DAY)
    assert funnel.sweep(T0 + 20 * DAY).moves == 0  # 20 days in mql: not over the limit yet
    report = funnel.sweep(T0 + 20 * DAY + timedelta(seconds=2))
    assert (report.leads, report.moves) == (1, 1)
    [change] = funnel.stage_changes(lead_id)
    assert (change.to_stage, change.rule, change.reason) == (
        "prospecting", None, "stale: over 20 days in mql")


def test_the_sweep_moves_a_lead_that_went_cold(funnel: Funnel) -> None:
    lead_id = funnel.lead(stage="mql", employees=5)
    funnel.record(lead_id, "opened", T0)
    assert funnel.sweep(T0 + DAY / 2).leads == 0  # due when the day count ticks over
    assert funnel.sweep(T0 + 10 * DAY).moves == 0
    report = funnel.sweep(T0 + 11 * DAY)
    assert report.moves == 1
    [change] = funnel.stage_changes(lead_id)
    assert (change.to_stage, change.rule) == ("nurture", "cold")


def test_no_ping_pong_between_two_rules(funnel: Funnel) -> None:
    # "first-look" takes a fit-A lead from nurture to mql; "cold" sends it back when it never
    # engages. The cool-down keeps "first-look" from sending it straight back.
    lead_id = funnel.lead(stage="nurture", employees=500)
    funnel.record(lead_id, "delivered", T0)
    now = T0
    for _ in range(40):
        now += DAY
        funnel.sweep(now)
    moves = [(c.from_stage, c.to_stage) for c in funnel.stage_changes(lead_id)]
    assert moves[:2] == [("nurture", "mql"), ("mql", "nurture")]
    days = [(c.at - T0).days for c in funnel.stage_changes(lead_id)]
    assert all(later - earlier >= 7 for earlier, later in zip(days[1:], days[2:], strict=False))


def test_a_won_lead_is_never_moved_by_a_wildcard_rule_or_staleness(funnel: Funnel) -> None:
    lead_id = funnel.lead(stage="won", employees=500, custom={"vip": "yes"})
    funnel.record(lead_id, "replied", T0)
    assert funnel.get(lead_id).stage == "won"
    assert funnel.stage_changes(lead_id) == []
    funnel.sweep(T0 + DAY)
    first = funnel.stage_changes(lead_id)[0]  # only a rule naming "won" itself moves it
    assert (first.from_stage, first.to_stage, first.rule) == ("won", "customer", "onboard")
    other = funnel.lead("vip@example.com", employees=500, custom={"vip": "yes"})
    funnel.record(other, "opened", T0)
    assert funnel.get(other).stage == "sql"


def test_a_rule_reading_touches_sent_and_sequence_finished_uses_the_stored_sends(
        funnel: Funnel) -> None:
    lead_id = funnel.lead(stage="sql", employees=80)
    enroll(funnel)
    [enrollment] = funnel.enrollments(lead_id)
    assert funnel.sweep(T0).moves == 0  # a new lead is assessed once at the next sweep
    assert funnel.sweep(T0).leads == 0
    with writing(funnel.engine) as connection:
        for index in range(2):
            connection.execute(Outbox.__table__.insert().values(  # type: ignore[attr-defined]
                enrollment_id=enrollment.id, touch_index=index, lead_id=lead_id,
                message_id=f"<{index}@t>", subject="s", status="sent", created_at=T0,
                sent_at=T0 + index * DAY))
        mark_due(connection, [lead_id], T0 + DAY)
    assert funnel.sweep(T0 + DAY).moves == 0  # two sent, but the sequence is still running
    with writing(funnel.engine) as connection:
        connection.execute(Enrollment.__table__.update()  # type: ignore[attr-defined]
                           .values(status="finished"))
    assert funnel.get(lead_id).rules_due_at == T0 + 2 * DAY  # looked at daily at least
    report = funnel.sweep(T0 + 2 * DAY)
    assert report.moves == 1
    assert funnel.stage_changes(lead_id)[0].rule == "worn-out"


def test_staleness_can_disqualify_once_and_a_recycle_brings_the_lead_back(
        funnel: Funnel) -> None:
    lead_id = funnel.lead(stage="nurture", employees=5)
    enroll(funnel)
    funnel.sweep(T0 + 61 * DAY)
    lead = funnel.get(lead_id)
    assert (lead.stage, lead.status) == ("nurture", "disqualified")
    [stopped] = funnel.enrollments(lead_id)
    assert stopped.stop_reason == "disqualified"
    assert lead.rules_due_at is None or lead.rules_due_at > T0 + 61 * DAY
    funnel.sweep(T0 + 200 * DAY)
    assert len(funnel.stage_changes(lead_id)) == 1  # disqualified once, not at every sweep
    lost = funnel.lead("lost@example.com", stage="lost", employees=80, status="disqualified")
    funnel.record(lost, "delivered", T0)
    funnel.sweep(T0 + 90 * DAY)
    recycled = funnel.get(lost)
    assert (recycled.stage, recycled.status) == ("nurture", "active")


def test_the_sweep_costs_what_is_due_and_goes_in_batches(funnel: Funnel) -> None:
    for n in range(20):
        funnel.lead(f"lead{n}@example.com", stage="customer")
    report = funnel.sweep(T0, batch_size=8)
    assert (report.leads, report.batches, report.rescored) == (20, 3, 20)
    assert funnel.sweep(T0 + 100 * DAY, batch_size=8).leads == 0  # nothing can change them
    with writing(funnel.engine) as connection:
        mark_due(connection, range(1, 11), T0 + DAY)
    assert funnel.sweep(T0 + 2 * DAY, batch_size=4, max_batches=2).leads == 8
    assert funnel.sweep(T0 + 2 * DAY, batch_size=4).leads == 2


def test_two_sweeps_at_once_assess_each_lead_once(funnel: Funnel) -> None:
    for n in range(60):
        funnel.lead(f"lead{n}@example.com", stage="won")
    reports: list[SweepReport] = []
    start = threading.Barrier(2)

    def sweep() -> None:
        start.wait()
        reports.append(funnel.sweep(T0 + DAY, batch_size=5, max_batches=None))

    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sum(report.moves for report in reports) == 60
    with Session(funnel.engine) as session:
        per_lead = session.execute(select(StageChange.lead_id, func.count())
                                   .group_by(StageChange.lead_id)).all()
    assert len(per_lead) == 60 and {count for _, count in per_lead} == {1}


def test_a_sweep_in_several_processes_moves_each_lead_once(funnel: Funnel) -> None:
    ids = [funnel.lead(f"lead{n}@example.com", stage="won") for n in range(30)]
    report = funnel.sweep(T0 + DAY, batch_size=4, max_batches=None, workers=2)
    assert (report.leads, report.moves) == (30, 30)
    assert [funnel.get(lead_id).stage for lead_id in ids] == ["customer"] * 30
    assert all(len(funnel.stage_changes(lead_id)) == 1 for lead_id in ids)
    assert funnel.sweep(T0 + DAY).leads == 0


def test_a_sweep_writes_each_lead_row_once_with_the_stages_it_visited(funnel: Funnel) -> None:
    ids = [funnel.lead(f"lead{n}@example.com", stage="won") for n in range(3)]
    updates: list[str] = []

    def seen(connection: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE LEAD "):
            updates.append(statement)

    event.listen(funnel.engine, "before_cursor_execute", seen)
    try:
        assert funnel.sweep(T0 + DAY).moves == 3
    finally:
        event.remove(funnel.engine, "before_cursor_execute", seen)
    assert len(updates) == 1, updates  # `visited` goes with the rest, not in an UPDATE of its own
    assert {funnel.get(lead_id).visited for lead_id in ids} == {stage_set(["won", "customer"])}


def test_a_sweep_with_little_due_starts_no_processes(funnel: Funnel,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def no_processes(*args: object) -> None:
        raise AssertionError("processes started for less than a batch")

    monkeypatch.setattr(rules_sweep, "_sweep_in_processes", no_processes)
    for n in range(3):
        funnel.lead(f"lead{n}@example.com", stage="won")
    assert funnel.sweep(T0 + DAY, batch_size=4, workers=2).moves == 3


def test_the_sweep_finds_due_leads_through_the_rules_due_index(engine: Engine) -> None:
    query = ("SELECT id FROM lead WHERE rules_due_at <= CURRENT_TIMESTAMP "
             "ORDER BY rules_due_at LIMIT 500")
    with engine.connect() as connection:
        assert "ix_lead_rules_due" in query_plan(connection, query)
