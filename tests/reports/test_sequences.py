"""The sequences report against hand-computed values on the world of world.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from nurture.reports.emails import _rows
from nurture.reports.filters import Filters
from nurture.reports.periods import period_of
from nurture.reports.rebuild import rebuild
from nurture.reports.sequences import Engagement, SequencesReport, sequences_report
from nurture.store.engine import writing
from nurture.store.models import Enrollment, Event, Lead, Outbox
from tests.plans import query_plan
from tests.reports.world import FEBRUARY, NOW, PIPELINE, day


def report(engine: Engine, filters: Filters = FEBRUARY) -> SequencesReport:
    with engine.connect() as connection:
        return sequences_report(connection, PIPELINE, filters, NOW)


def counts(emails: Engagement) -> tuple[int, ...]:
    return (emails.sent, emails.bounced, emails.delivered, emails.opened, emails.clicked,
            emails.replied, emails.unsubscribed)


def test_each_sequence_and_touch_counts_what_people_did(engine: Engine,
                                                       ids: dict[str, int]) -> None:
    found = report(engine)
    assert [s.sequence for s in found.sequences] == ["nudge", "welcome"]
    nudge, welcome = found.sequences
    assert counts(nudge.emails) == (1, 0, 1, 0, 0, 1, 0)
    # a1, b1, c1, d1 (refused: sent and bounced) and a2; b2 was skipped, e1 sent in January.
    # ann opened a1 twice (one open); bob's open and click were a scanner's; cy's unsubscribe
    # named no email and is credited to c1, the last email cy was sent.
    assert counts(welcome.emails) == (5, 1, 4, 3, 1, 1, 1)
    assert [t.touch for t in welcome.touches] == [1, 2]
    assert counts(welcome.touches[0].emails) == (4, 1, 3, 2, 1, 1, 1)
    assert counts(welcome.touches[1].emails) == (1, 0, 1, 1, 0, 0, 0)


def test_rates_are_over_delivered_emails_and_bounces_over_sent(engine: Engine,
                                                               ids: dict[str, int]) -> None:
    emails = report(engine).sequences[1].touches[0].emails
    assert emails.bounce_rate == pytest.approx(1 / 4)
    assert (emails.open_rate, emails.click_rate, emails.reply_rate,
            emails.unsubscribe_rate) == pytest.approx((2 / 3, 1 / 3, 1 / 3, 1 / 3))


def test_subject_variants_are_side_by_side_and_small_samples_are_named(
        engine: Engine, ids: dict[str, int]) -> None:
    welcome = report(engine).sequences[1]
    first, second = welcome.touches[0].variants
    assert (first.variant, counts(first.emails)) == (0, (2, 0, 2, 2, 1, 1, 1))
    assert (second.variant, counts(second.emails)) == (1, (2, 1, 1, 0, 0, 0, 0))
    assert first.subject == "a1 subject 0" and second.subject == "b1 subject 1"
    assert first.reply_test is None and first.click_test is None
    assert second.reply_test is not None and second.reply_test.too_small
    assert second.reply_test.p_value is None
    assert "sample too small" in second.reply_test.verdict
    assert welcome.touches[1].variants == []  # one subject: nothing to compare


def test_filters_narrow_the_emails(engine: Engine, ids: dict[str, int]) -> None:
    assert [s.sequence for s in report(engine, replace(FEBRUARY, sequence="nudge")).sequences] \
        == ["nudge"]
    webinar = report(engine, replace(FEBRUARY, source="webinar"))  # ann and bob
    assert counts(webinar.sequences[0].touches[0].emails) == (2, 0, 2, 1, 1, 1, 0)
    everything = report(engine, Filters())  # e1, sent in January, counts too
    assert counts(everything.sequences[1].touches[0].variants[0].emails) == (3, 0, 3, 3, 1, 1, 1)


def test_all_time_for_one_source_counts_sent_and_refused_emails(engine: Engine,
                                                               ids: dict[str, int]) -> None:
    # ads: cy's c1 (opened; the unsubscribe naming no email) and dee's d1, refused at send.
    welcome, = report(engine, Filters(source="ads")).sequences
    assert counts(welcome.emails) == (2, 1, 1, 1, 0, 0, 1)
    assert [counts(v.emails) for v in welcome.touches[0].variants] == [
        (1, 0, 1, 1, 0, 0, 1), (1, 1, 0, 0, 0, 0, 0)]


def test_one_sources_sent_emails_are_counted_from_the_lead_emails_index(engine: Engine) -> None:
    filters = Filters(source="webinar")
    sent, _refused = _rows(period_of(filters.window(NOW), by_rows=True), filters, by_lead=True)
    with engine.connect() as connection:
        plan = query_plan(connection, str(sent.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True})))
    if engine.dialect.name == "sqlite":  # the index alone, no outbox row read
        assert "COVERING INDEX ix_outbox_lead_emails" in plan, plan
    else:  # the source's lead ids too: the index also holds the column itself
        assert "Index Only Scan using ix_outbox_lead_emails" in plan, plan
        assert "Index Only Scan using ix_lead_source_lower" in plan, plan


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)  # a PostgreSQL planner setting
def test_postgresql_counts_one_sources_emails_without_hash_joins_and_puts_settings_back(
        engine: Engine, ids: dict[str, int]) -> None:
    assert engine.dialect.name == "postgresql"
    statements: list[str] = []
    with engine.connect() as connection:
        event.listen(connection, "before_cursor_execute",
                     lambda _c, _cursor, statement, *_: statements.append(statement))
        welcome, = sequences_report(connection, PIPELINE, Filters(source="ads"), NOW).sequences
        settings = [connection.execute(text(f"SHOW {name}")).scalar_one()
                    for name in ("enable_hashjoin", "enable_seqscan")]
    assert counts(welcome.emails) == (2, 1, 1, 1, 0, 0, 1)
    assert settings == ["on", "on"]
    counted = [n for n, statement in enumerate(statements) if "FROM outbox" in statement]
    assert len(counted) == 2 and "set_config" in statements[counted[0] - 1], statements


def test_an_empty_database_has_no_sequences(engine: Engine) -> None:
    assert report(engine).sequences == []


def test_a_large_enough_ab_sample_gets_a_p_value(engine: Engine) -> None:
    # Variant A: 40 emails, 20 replies; B: 40 emails, 8 replies. Pooled rate 28/80 = 0.35,
    # SE = sqrt(0.35 · 0.65 · 2/40) = 0.10665, z = (0.2 - 0.5) / SE = -2.8129, p = 0.0049.
    sent = day(2, 2, 10)
    with writing(engine) as connection, Session(bind=connection) as session:
        lead = Lead(email="many@example.com", stage="new", created_at=sent, updated_at=sent,
                    stage_entered_at=sent)
        session.add(lead)
        session.flush()
        for number in range(80):
            entered = sent + timedelta(seconds=number)
            enrollment = Enrollment(lead_id=lead.id, sequence_id="ab", stage="new",
                                    stage_entered_at=entered, created_at=entered,
                                    updated_at=entered)
            session.add(enrollment)
            session.flush()
            variant = number % 2
            email = Outbox(enrollment_id=enrollment.id, touch_index=0, lead_id=lead.id,
                           message_id=f"<ab{number}@test>", subject=f"subject {variant}",
                           variant=variant, status="sent", created_at=entered, sent_at=entered)
            session.add(email)
            session.flush()
            if number // 2 < (20 if variant == 0 else 8):
                session.add(Event(lead_id=lead.id, type="replied", at=entered + timedelta(hours=1),
                                  outbox_id=email.id))
        session.flush()
        rebuild(connection)  # raw rows: the reports' summaries are made from them
    first, second = report(engine).sequences[0].touches[0].variants
    assert (first.emails.replied, second.emails.replied) == (20, 8)
    test = second.reply_test
    assert test is not None and not test.too_small
    assert test.z == pytest.approx(-2.8129, abs=1e-4)
    assert test.p_value == pytest.approx(0.0049, abs=1e-4)
    assert test.is_significant and test.verdict == "significant (p = 0.005)"
    assert second.click_test is not None and second.click_test.too_small  # nobody clicked
