"""Column behaviour both databases must share: aware UTC datetimes, case-blind emails, JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, select

from nurture.store.models import Event, Lead, Rep, Suppression

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def make_lead(email: str, **values: Any) -> Lead:
    defaults: dict[str, Any] = {
        "stage": "prospecting", "stage_entered_at": NOW, "created_at": NOW, "updated_at": NOW,
    }
    return Lead(email=email, **{**defaults, **values})


def test_aware_datetimes_come_back_aware_in_utc(session: Session) -> None:
    paused_until = datetime(2026, 3, 29, 11, 15, 30, 123456, tzinfo=TOKYO)
    session.add(make_lead("ann@example.com", paused_until=paused_until))
    session.commit()
    session.expire_all()
    lead = session.exec(select(Lead)).one()
    assert lead.paused_until == paused_until
    assert lead.paused_until is not None and lead.paused_until.tzinfo == UTC
    assert lead.paused_until.hour == 2 and lead.created_at == NOW


def test_datetime_comparisons_work_across_offsets(session: Session) -> None:
    session.add(make_lead("ann@example.com", last_engaged_at=NOW))
    session.commit()
    same_instant = NOW.astimezone(TOKYO)
    found = session.exec(select(Lead).where(Lead.last_engaged_at == same_instant)).all()
    assert [lead.email for lead in found] == ["ann@example.com"]


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(make_lead("ann@example.com", created_at=datetime(2026, 1, 1, 9, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()


def test_email_is_stored_lowercased_and_stripped(session: Session) -> None:
    session.add(make_lead("  Ann.Lee@Example.COM "))
    session.commit()
    session.expire_all()
    assert session.exec(select(Lead.email)).one() == "ann.lee@example.com"


def test_email_uniqueness_ignores_case(session: Session) -> None:
    session.add(make_lead("ann@example.com"))
    session.commit()
    session.add(make_lead("ANN@Example.com"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_email_lookups_ignore_case(session: Session) -> None:
    session.add(make_lead("ann@example.com"))
    session.commit()
    assert session.exec(select(Lead).where(Lead.email == "ANN@EXAMPLE.COM")).one()


def test_rep_email_and_suppression_value_are_case_blind_too(session: Session) -> None:
    session.add(Rep(name="Rita", email="Rita@Example.com", teams=["sales"]))
    session.add(Suppression(value="Spam.Example", kind="domain", reason="asked", created_at=NOW))
    session.commit()
    session.expire_all()
    assert session.exec(select(Rep.email)).one() == "rita@example.com"
    assert session.exec(select(Rep.teams)).one() == ["sales"]
    assert session.exec(select(Suppression.value)).one() == "spam.example"


def test_custom_fields_round_trip_as_json(session: Session) -> None:
    custom = {"plan_tier": "enterprise", "seats": 40, "tags": ["a", "b"], "note": "naïve ☕"}
    session.add(make_lead("ann@example.com", custom=custom))
    session.commit()
    session.expire_all()
    assert session.exec(select(Lead)).one().custom == custom


def test_deleting_a_lead_removes_its_history(session: Session) -> None:
    lead = make_lead("ann@example.com")
    session.add(lead)
    session.commit()
    assert lead.id is not None
    session.add(Event(lead_id=lead.id, type="opened", at=NOW))
    session.commit()
    session.delete(lead)
    session.commit()
    assert session.exec(select(Event)).all() == []
