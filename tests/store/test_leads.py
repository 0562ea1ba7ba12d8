"""Lead upserts and queries: counts, idempotence, merge rules, listing, export and the story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from nurture.files.leads_csv import LeadRow
from nurture.store.leads import (
    UpsertResult,
    export_leads,
    get_lead_by_email,
    lead_story,
    list_leads,
    upsert_leads,
)
from nurture.store.models import Enrollment, Event, Lead, Outbox, ScoreChange, StageChange

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
ANN = LeadRow(email="ann@example.com", first_name="Ann", company="Acme", employees=250,
              timezone="Europe/Berlin", custom={"plan": "team"})
BOB = LeadRow(email="bob@example.com", first_name="Bob", deal_value=1200.5)


def upsert(engine: Engine, rows: list[LeadRow], now: datetime = NOW) -> UpsertResult:
    with engine.begin() as connection:
        return upsert_leads(connection, rows, "prospecting", now)


def stored(engine: Engine, email: str) -> Lead:
    with Session(engine) as session:
        lead = get_lead_by_email(session, email)
        assert lead is not None
        return lead


def test_new_leads_are_inserted_in_the_default_stage(engine: Engine) -> None:
    assert upsert(engine, [ANN, BOB]) == UpsertResult(inserted=2, updated=0, unchanged=0)
    ann = stored(engine, "ann@example.com")
    assert (ann.stage, ann.status, ann.fit, ann.score) == ("prospecting", "active", "D", 0.0)
    assert ann.stage_entered_at == ann.created_at == ann.updated_at == NOW
    assert (ann.first_name, ann.employees, ann.custom) == ("Ann", 250, {"plan": "team"})


def test_upserting_the_same_rows_again_changes_nothing(engine: Engine) -> None:
    upsert(engine, [ANN, BOB])
    assert upsert(engine, [ANN, BOB], now=LATER) == UpsertResult(0, 0, 2)
    assert stored(engine, "ann@example.com").updated_at == NOW


def test_changed_rows_are_updated_and_counted(engine: Engine) -> None:
    upsert(engine, [ANN, BOB])
    moved = LeadRow(email="ANN@example.com", company="Globex")
    carol = LeadRow(email="carol@example.com")
    assert upsert(engine, [moved, BOB, carol], now=LATER) == UpsertResult(1, 1, 1)
    ann = stored(engine, "ann@example.com")
    assert (ann.company, ann.updated_at, ann.created_at) == ("Globex", LATER, NOW)
    assert ann.stage_entered_at == NOW


def test_blank_values_keep_what_is_stored(engine: Engine) -> None:
    upsert(engine, [ANN])
    assert upsert(engine, [LeadRow(email="ann@example.com")], now=LATER) == UpsertResult(0, 0, 1)
    ann = stored(engine, "ann@example.com")
    assert (ann.first_name, ann.employees, ann.timezone) == ("Ann", 250, "Europe/Berlin")


def test_custom_fields_are_merged_key_by_key(engine: Engine) -> None:
    upsert(engine, [ANN])
    same = LeadRow(email="ann@example.com", custom={"plan": "team"})
    assert upsert(engine, [same], now=LATER) == UpsertResult(0, 0, 1)
    more = LeadRow(email="ann@example.com", custom={"seats": "40"})
    assert upsert(engine, [more], now=LATER) == UpsertResult(0, 1, 0)
    assert stored(engine, "ann@example.com").custom == {"plan": "team", "seats": "40"}
    assert upsert(engine, [more], now=LATER) == UpsertResult(0, 0, 1)


def test_unicode_values_and_reordered_custom_keys_count_as_unchanged(session: Session) -> None:
    zoe = LeadRow(email="zoë@bücher.example", first_name="Zoë", deal_value=12500.0,
                  custom={"städt": "Köln", "plan": "team"})
    upsert_leads(session, [zoe], "prospecting", NOW)
    lead = get_lead_by_email(session, "ZOË@BÜCHER.EXAMPLE")
    assert lead is not None
    lead.custom = {"plan": "team", "städt": "Köln"}  # rewritten by the ORM, keys reordered
    session.commit()
    assert upsert_leads(session, [zoe], "prospecting", LATER) == UpsertResult(0, 0, 1)
    session.commit()
    session.expire_all()
    stored_lead = get_lead_by_email(session, "zoë@bücher.example")
    assert stored_lead is not None and stored_lead.first_name == "Zoë"
    assert stored_lead.custom == {"städt": "Köln", "plan": "team"}
    assert stored_lead.deal_value == 12500.0 and stored_lead.updated_at == NOW


def test_the_last_row_for_an_email_wins_within_a_batch(engine: Engine) -> None:
    first = LeadRow(email="ann@example.com", company="Acme")
    last = LeadRow(email="Ann@Example.com", company="Globex")
    assert upsert(engine, [first, last]) == UpsertResult(1, 0, 0)
    assert stored(engine, "ann@example.com").company == "Globex"


def test_upsert_works_inside_a_session(session: Session) -> None:
    assert upsert_leads(session, [ANN], "prospecting", NOW) == UpsertResult(1, 0, 0)
    session.commit()
    assert get_lead_by_email(session, "ANN@EXAMPLE.COM") is not None


def test_an_empty_batch_does_nothing(engine: Engine) -> None:
    assert upsert(engine, []) == UpsertResult(0, 0, 0)


def test_list_leads_filters_by_stage_and_status_and_pages(session: Session) -> None:
    upsert_leads(session, [LeadRow(email=f"lead{n}@example.com") for n in range(5)],
                 "prospecting", NOW)
    upsert_leads(session, [LeadRow(email="q@example.com")], "qualification", NOW)
    session.commit()
    paused = get_lead_by_email(session, "lead1@example.com")
    assert paused is not None
    paused.status = "paused"
    session.commit()
    assert [lead.email for lead in list_leads(session, stage="qualification")] == ["q@example.com"]
    assert [lead.email for lead in list_leads(session, status="paused")] == ["lead1@example.com"]
    page = list_leads(session, stage="prospecting", status="active", limit=2, offset=1)
    assert [lead.email for lead in page] == ["lead2@example.com", "lead3@example.com"]


def test_export_yields_every_lead_with_its_columns(session: Session) -> None:
    upsert_leads(session, [ANN, BOB], "prospecting", NOW)
    session.commit()
    exported = list(export_leads(session))
    assert [row["email"] for row in exported] == ["ann@example.com", "bob@example.com"]
    assert exported[0]["custom"] == {"plan": "team"} and exported[0]["created_at"] == NOW
    assert exported[1]["deal_value"] == 1200.5


def test_lead_story_returns_the_stored_history_in_order(session: Session) -> None:
    upsert_leads(session, [ANN], "prospecting", NOW)
    lead = get_lead_by_email(session, "ann@example.com")
    assert lead is not None and lead.id is not None
    enrollment = Enrollment(lead_id=lead.id, sequence_id="cold-intro", stage="prospecting",
                            stage_entered_at=NOW, next_touch_at=NOW, created_at=NOW,
                            updated_at=NOW)
    session.add(enrollment)
    session.flush()
    assert enrollment.id is not None
    outbox = Outbox(enrollment_id=enrollment.id, touch_index=0, lead_id=lead.id,
                    message_id="<m1@example.com>", subject="Hi", created_at=NOW)
    session.add(outbox)
    session.flush()
    later, first = (Event(lead_id=lead.id, type=kind, at=NOW + timedelta(hours=hours),
                          outbox_id=outbox.id, data={"url": "https://x.example/pricing"})
                    for kind, hours in (("clicked", 2), ("opened", 1)))
    session.add_all([later, first])
    session.add(ScoreChange(lead_id=lead.id, at=NOW, delta=5, score_after=5, reason="clicked"))
    session.add(StageChange(lead_id=lead.id, from_stage=None, to_stage="prospecting", at=NOW,
                            reason="imported", score_before=0, score_after=0))
    session.commit()

    story = lead_story(session, lead.id)

    assert story is not None and story.lead.email == "ann@example.com"
    assert [event.type for event in story.events] == ["opened", "clicked"]
    assert story.events[1].data == {"url": "https://x.example/pricing"}
    assert [change.reason for change in story.score_changes] == ["clicked"]
    assert [change.to_stage for change in story.stage_changes] == ["prospecting"]
    assert [row.sequence_id for row in story.enrollments] == ["cold-intro"]
    assert [row.message_id for row in story.outbox] == ["<m1@example.com>"]


def test_lead_story_of_an_unknown_lead_is_none(session: Session) -> None:
    assert lead_story(session, 999) is None
    assert session.exec(select(Lead)).all() == []
