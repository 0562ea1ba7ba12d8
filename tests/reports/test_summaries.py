"""The reports' summaries (store/report_models.py) as the writers keep them: equal to what a
rebuild makes from the raw history, after moves, sends, events, imports and folding — and the
figures read from them, by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, update

from nurture.engine.events import (
    EventBatch,
    NewEvent,
    flag_as_machine,
    record_event,
    record_events,
)
from nurture.engine.stages import move_lead
from nurture.files.leads_csv import LeadRow
from nurture.reports.filters import Filters
from nurture.reports.forecast import forecast_report
from nurture.reports.funnel import funnel_report
from nurture.reports.sequences import sequences_report
from nurture.reports.sources import sources_report
from nurture.reports.velocity import velocity_report
from nurture.store.engine import writing
from nurture.store.leads import upsert_leads
from nurture.store.models import Lead, Outbox, StageEntry
from nurture.store.tallies import DAILY, fold
from tests.reports.world import FEBRUARY, NOW, PIPELINE, day
from tests.reports.written import (
    PROJECT,
    move,
    rebuilt_state,
    seed_written,
    send,
    summary_state,
)

LEADS = Lead.__table__  # type: ignore[attr-defined]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]

REPORTS = (funnel_report, velocity_report, forecast_report, sequences_report, sources_report)


def reports(engine: Engine, filters: Filters = FEBRUARY) -> list[object]:
    with engine.connect() as connection:
        return [report(connection, PIPELINE, filters, NOW) for report in REPORTS]


def test_the_writers_keep_what_a_rebuild_makes(engine: Engine) -> None:
    seed_written(engine)
    kept = summary_state(engine)
    assert len(kept["stage_entry"]) == 22  # 8 creations and 14 moves
    assert kept == rebuilt_state(engine)


def test_folding_leaves_one_row_per_key_and_every_figure_as_it_was(engine: Engine) -> None:
    seed_written(engine)
    periods = (FEBRUARY, Filters(), Filters(start=day(2, 10, 12)),
               replace(FEBRUARY, source="webinar"))
    before = [reports(engine, period) for period in periods]
    with engine.connect() as connection:
        pending = sum(connection.execute(select(func.count()).select_from(daily.table)
                                         .where(daily.table.c.pending)).scalar_one()
                      for daily in DAILY)
    assert pending > 0
    state = summary_state(engine)
    with writing(engine) as connection:
        fold(connection)
    with engine.connect() as connection:
        for daily in DAILY:
            keys = [daily.table.c[k] for k in daily.keys]
            rows = connection.execute(select(daily.table.c.pending, *keys)).all()
            assert not any(row.pending for row in rows)
            assert len(rows) == len({tuple(row[1:]) for row in rows}), daily.table.name
    assert summary_state(engine) == state
    assert [reports(engine, period) for period in periods] == before


def test_a_later_move_changes_what_the_earlier_entries_led_to(engine: Engine) -> None:
    ids = seed_written(engine)
    with writing(engine) as connection:  # dee, in new since Feb 5, skips to proposal
        move_lead(connection, PROJECT, ids["dee"], "proposal", "test", day(3, 1))
    funnel = reports(engine)[0]
    steps = {s.stage: (s.entered, s.advanced, s.lost, s.still_open)
             for s in funnel.steps}  # type: ignore[attr-defined]
    assert steps["new"] == (6, 5, 1, 0)
    assert summary_state(engine) == rebuilt_state(engine)


def test_an_import_that_changes_source_and_value_moves_the_lead_between_segments(
        engine: Engine) -> None:
    seed_written(engine)
    with writing(engine) as connection:  # ann (won Feb 20) came from ads, for 5000
        upsert_leads(connection, [LeadRow(email="ann@example.com", source="ads",
                                          deal_value=5000.0)], "new", day(3, 1))
    _, velocity, _, _, sources = reports(engine)
    assert [(s.name, s.leads, s.won, s.value, s.won_value)
            for s in sources.sources] == [  # type: ignore[attr-defined]
        ("ads", 4, 1, 5500.0, 5000.0), ("event", 1, 0, 4000.0, 0.0),
        ("webinar", 1, 0, 2000.0, 0.0)]
    assert velocity.period.won_value == 8000.0  # type: ignore[attr-defined]  # ann and eve
    assert summary_state(engine) == rebuilt_state(engine)


def test_an_event_stored_before_its_email_was_sent_is_credited_once_it_is(
        engine: Engine) -> None:
    """An event that names no email goes to the last email sent at or before it, even when
    that email's send is recorded after the event."""
    ids = seed_written(engine)
    with writing(engine) as connection:  # ann replies, naming no email, on Feb 7
        record_event(connection, PROJECT, NewEvent(ids["ann"], "replied", day(2, 7), {}))
    welcome = reports(engine)[3].sequences[1]  # type: ignore[attr-defined]
    assert [t.emails.replied for t in welcome.touches] == [1, 1]  # a1's own; a2, sent Feb 6
    send(engine, ids, "a3", ("ann", "welcome", 2, 0, "sent", day(2, 6, 20), []))
    welcome = reports(engine)[3].sequences[1]  # type: ignore[attr-defined]
    assert [t.emails.replied for t in welcome.touches] == [1, 0, 1]  # now a3's
    assert summary_state(engine) == rebuilt_state(engine)


def steps(engine: Engine, filters: Filters) -> dict[str, tuple[int, int, int, int]]:
    funnel = reports(engine, filters)[0]
    return {s.stage: (s.entered, s.advanced, s.lost, s.still_open)
            for s in funnel.steps}  # type: ignore[attr-defined]


def test_entries_before_a_period_starting_mid_day_are_told_from_those_after(
        engine: Engine) -> None:
    start = datetime(2026, 2, 10, 12, tzinfo=UTC)
    with writing(engine) as connection:
        for email, stage in (("x@example.com", "qualified"), ("y@example.com", "new")):
            upsert_leads(connection, [LeadRow(email=email)], stage, start - timedelta(hours=4))
        x, y = connection.execute(select(LEADS.c.id).order_by(LEADS.c.id)).scalars()
    # x: qualified at 08:00 (created), new 09:00, qualified Feb 12: the first since 12:00.
    # y: new at 08:00 (created), qualified 13:00, new Feb 11, qualified Feb 12: its first
    # qualified since 12:00 is at 13:00 (and its entry of Feb 12 is not), its first new Feb 11.
    for lead, stage, at in ((x, "new", start - timedelta(hours=3)),
                            (y, "qualified", start + timedelta(hours=1)),
                            (y, "new", day(2, 11)), (x, "qualified", day(2, 12)),
                            (y, "qualified", day(2, 12))):
        with writing(engine) as connection:
            move(connection, lead, stage, at)
    period = Filters(start=start, end=day(3, 1))
    expected = {"new": (1, 1, 0, 0), "qualified": (2, 0, 0, 2), "proposal": (0, 0, 0, 0)}
    assert steps(engine, period) == expected
    assert steps(engine, replace(period, start=day(2, 11))) == {
        "new": (1, 1, 0, 0), "qualified": (2, 0, 0, 2), "proposal": (0, 0, 0, 0)}
    rebuilt_state(engine)
    assert steps(engine, period) == expected


def test_a_loss_and_a_qualification_at_one_instant_count_as_a_lost_opportunity(
        engine: Engine) -> None:
    """Rules chained in one assessment move a lead twice at one instant: lost, then back to
    qualified. It qualified no later than it was lost, and was never won."""
    with writing(engine) as connection:
        upsert_leads(connection, [LeadRow(email="z@example.com")], "new", day(2, 2))
        lead = connection.execute(select(LEADS.c.id)).scalar_one()
    for stage in ("lost", "qualified"):
        with writing(engine) as connection:
            move(connection, lead, stage, day(2, 9))
    period = reports(engine)[1].period  # type: ignore[attr-defined]
    assert (period.opportunities, period.won, period.lost) == (1, 0, 1)
    assert summary_state(engine) == rebuilt_state(engine)


def test_a_rebuild_puts_right_summaries_written_wrong(engine: Engine) -> None:
    seed_written(engine)
    kept = summary_state(engine)
    with writing(engine) as connection:
        emails = connection.execute(select(OUTBOX.c.id, OUTBOX.c.outcomes)
                                    .order_by(OUTBOX.c.id)).all()
        connection.execute(update(OUTBOX).where(OUTBOX.c.id == emails[0].id)
                           .values(outcomes=0))  # a1, opened, clicked and replied to
        connection.execute(update(OUTBOX).where(OUTBOX.c.outcomes == 0)
                           .values(outcomes=63))  # the others
        connection.execute(delete(StageEntry.__table__).where(  # type: ignore[attr-defined]
            StageEntry.__table__.c.seq > 0))  # type: ignore[attr-defined]
        connection.execute(update(LEADS).values(visited=""))
        connection.execute(insert(DAILY[0].table).values(
            pending=True, day=1, stage="new", prev_day=-1, earlier="", later="", tied="", n=5))
    assert emails[0].outcomes == 7 and summary_state(engine) != kept
    assert rebuilt_state(engine) == kept


def test_hits_found_to_be_a_machines_by_a_later_batch_are_no_longer_counted(
        engine: Engine) -> None:
    """Tracking hits are stored and counted as a person's; a burst in a later batch may show
    they were a scanner's (web/hits.py): they then stop counting, as a rebuild would say."""
    ids = seed_written(engine)
    with writing(engine) as connection:  # dee's refused d1 "opened" twice, bob's b1 once
        b1, d1 = (connection.execute(select(OUTBOX.c.id).where(
            OUTBOX.c.message_id == f"<{name}@test>")).scalar_one() for name in ("b1", "d1"))
        batch = EventBatch()
        stored = record_events(connection, PROJECT, [
            NewEvent(ids["bob"], "opened", day(2, 7), {}, outbox_id=b1),
            NewEvent(ids["dee"], "opened", day(2, 7), {}, outbox_id=d1),
            NewEvent(ids["dee"], "opened", day(2, 7, 1), {}, outbox_id=d1)], batch)
        batch.assess(connection, PROJECT, day(2, 7, 1))
    variants = reports(engine)[3].sequences[1].touches[0].variants  # type: ignore[attr-defined]
    assert [v.emails.opened for v in variants] == [2, 2]  # a1 and c1; bob's b1, dee's d1
    with writing(engine) as connection:
        batch = EventBatch()
        flag_as_machine(connection, batch, stored[1:])
        assert set(batch.news) == {ids["dee"]}  # rescored without the scanner's opens
        batch.assess(connection, PROJECT, day(2, 7, 2))
    variants = reports(engine)[3].sequences[1].touches[0].variants  # type: ignore[attr-defined]
    assert [v.emails.opened for v in variants] == [2, 1]
    assert summary_state(engine) == rebuilt_state(engine)
