"""A small, fixed pipeline history whose every metric is computed by hand in the tests.

Stages: new → qualified (sales: the sales cycle starts) → proposal → won; lost; nurture (after
won, so outside the funnel). Times are midnight UTC unless noted; February 2026 starts on a
Sunday, so weeks (Monday to Sunday) start on Jan 26, Feb 2, 9, 16 and 23.

    lead  created       source   industry  value  path
    ann   Feb 2  new    webinar  retail    1000   qualified Feb 5, proposal Feb 10, won Feb 20
    bob   Feb 3  new    webinar  software  2000   proposal Feb 6 (skips qualified), lost Feb 15
    cy    Feb 4  new    ads      Retail     500   lost Feb 8, nurture Feb 18 (recycled),
                                                  qualified Feb 22
    dee   Feb 5  new    ads      -            -   stays in new (over its 10 days)
    eve   Jan 10 new    webinar  retail    3000   qualified Jan 20, proposal Feb 12, won Feb 25
    fay   Feb 10 qualified event -         4000   (imported there) new Feb 14 (stale),
                                                  qualified Feb 16
    gus   Feb 11 new    ads      -            -   disqualified Feb 20 (status disqualified)
    hal   Mar 2 06:00 new  ads   -            -   created after the period, before NOW

ann and eve are owned by the rep rita. Emails (sequence "welcome", touch 1 has two subjects):

    email  lead  touch variant  status             sent     events
    a1     ann   1     0        sent               Feb 2    2 human opens, click, reply
    b1     bob   1     1        sent               Feb 3    a machine open, a machine click
    c1     cy    1     0        sent               Feb 4    open; an unsubscribe naming no email
    d1     dee   1     1        failed (bounced)   -        hard bounce at send time (Feb 5)
    a2     ann   2     0        sent               Feb 6    open
    b2     bob   2     0        skipped            -
    e1     eve   1     0        sent               Jan 11   open
and fay's email f1 of sequence "nudge" (touch 1), sent Feb 12 and replied to.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from nurture.core.sequences import Pipeline
from nurture.reports.filters import Filters
from nurture.reports.rebuild import rebuild
from nurture.store.engine import writing
from nurture.store.models import Enrollment, Event, Lead, Outbox, Rep, StageChange

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FEBRUARY = Filters(start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 3, 2, tzinfo=UTC))
PIPELINE_TOML = """\
[[stage]]
id = "new"
probability = 0.1
max_days = 10

[[stage]]
id = "qualified"
team = "sales"
probability = 0.3
max_days = 20

[[stage]]
id = "proposal"
team = "sales"
probability = 0.6

[[stage]]
id = "won"
team = "sales"
probability = 1.0
outcome = "won"

[[stage]]
id = "lost"
team = "sales"
probability = 0.0
outcome = "lost"

[[stage]]
id = "nurture"
probability = 0.05
"""
PIPELINE = Pipeline.model_validate(tomllib.loads(PIPELINE_TOML))


def day(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


LEADS = {  # name: (created, initial stage, source, industry, value, status, moves)
    "ann": (day(2, 2), "new", "webinar", "retail", 1000.0, "active",
            [("qualified", day(2, 5)), ("proposal", day(2, 10)), ("won", day(2, 20))]),
    "bob": (day(2, 3), "new", "webinar", "software", 2000.0, "active",
            [("proposal", day(2, 6)), ("lost", day(2, 15))]),
    "cy": (day(2, 4), "new", "ads", "Retail", 500.0, "active",
           [("lost", day(2, 8)), ("nurture", day(2, 18)), ("qualified", day(2, 22))]),
    "dee": (day(2, 5), "new", "ads", None, None, "active", []),
    "eve": (day(1, 10), "new", "webinar", "retail", 3000.0, "active",
            [("qualified", day(1, 20)), ("proposal", day(2, 12)), ("won", day(2, 25))]),
    "fay": (day(2, 10), "qualified", "event", None, 4000.0, "active",
            [("new", day(2, 14)), ("qualified", day(2, 16))]),
    "gus": (day(2, 11), "new", "ads", None, None, "disqualified", [("disqualified", day(2, 20))]),
    "hal": (day(3, 2, 6), "new", "ads", None, None, "active", []),
}
OWNED_BY_RITA = ("ann", "eve")
EMAILS = {  # name: (lead, sequence, touch index, variant, status, sent, [(event, at, machine)])
    "a1": ("ann", "welcome", 0, 0, "sent", day(2, 2, 10),
           [("opened", day(2, 2, 11), False), ("opened", day(2, 3), False),
            ("clicked", day(2, 3, 1), False), ("replied", day(2, 3, 2), False)]),
    "b1": ("bob", "welcome", 0, 1, "sent", day(2, 3, 10),
           [("opened", day(2, 3, 10), True), ("clicked", day(2, 3, 10), True)]),
    "c1": ("cy", "welcome", 0, 0, "sent", day(2, 4, 10), [("opened", day(2, 4, 12), False)]),
    "d1": ("dee", "welcome", 0, 1, "failed", None, [("bounced", day(2, 5, 10), False)]),
    "a2": ("ann", "welcome", 1, 0, "sent", day(2, 6, 10), [("opened", day(2, 6, 12), False)]),
    "b2": ("bob", "welcome", 1, 0, "skipped", None, []),
    "e1": ("eve", "welcome", 0, 0, "sent", day(1, 11, 10), [("opened", day(1, 11, 12), False)]),
    "f1": ("fay", "nudge", 0, 0, "sent", day(2, 12, 10), [("replied", day(2, 12, 15), False)]),
}
UNSUBSCRIBED = ("cy", day(2, 4, 15))  # through the lead's link: no email named


def seed(engine: Engine) -> dict[str, int]:
    """Write the history above as raw rows, then rebuild the reports' summaries from it; returns
    lead ids by name, and the rep's id as "rita"."""
    ids = seed_raw(engine)
    with writing(engine) as connection:
        rebuild(connection)
    return ids


def add_rita(session: Session) -> int:
    """The one rep of the world; her id."""
    rita = Rep(name="Rita", email="rita@example.com")
    session.add(rita)
    session.flush()
    assert rita.id is not None
    return rita.id


def seed_raw(engine: Engine) -> dict[str, int]:
    """Write the history above as raw rows only (no summaries)."""
    with writing(engine) as connection, Session(bind=connection) as session:
        ids = {"rita": add_rita(session)}
        for name, (created, stage, source, industry, value, status, moves) in LEADS.items():
            current, entered = moves[-1] if moves else (stage, created)
            lead = Lead(email=f"{name}@example.com", stage=stage if current == "disqualified"
                        else current, status=status, source=source, industry=industry,
                        deal_value=value, created_at=created, updated_at=created,
                        stage_entered_at=created if current == "disqualified" else entered,
                        owner_id=ids["rita"] if name in OWNED_BY_RITA else None)
            session.add(lead)
            session.flush()
            ids[name] = lead.id
            previous = stage
            for to_stage, at in moves:
                session.add(StageChange(lead_id=lead.id, from_stage=previous, to_stage=to_stage,
                                        at=at, reason="test", score_before=0, score_after=0))
                previous = to_stage
        _seed_emails(session, ids)
        session.flush()
    return ids


def _seed_emails(session: Session, ids: dict[str, int]) -> None:
    enrollments: dict[tuple[str, str], int] = {}
    for name, (lead, sequence, touch, variant, status, sent, events) in EMAILS.items():
        if (lead, sequence) not in enrollments:
            created = LEADS[lead][0]
            enrollment = Enrollment(lead_id=ids[lead], sequence_id=sequence, stage="new",
                                    stage_entered_at=created, created_at=created,
                                    updated_at=created, status="finished")
            session.add(enrollment)
            session.flush()
            enrollments[lead, sequence] = enrollment.id
        attempted = sent or (events[0][1] if events else LEADS[lead][0])
        email = Outbox(enrollment_id=enrollments[lead, sequence], touch_index=touch,
                       lead_id=ids[lead], message_id=f"<{name}@test>",
                       subject=f"{name} subject {variant}", variant=variant, status=status,
                       created_at=attempted - timedelta(minutes=1), sent_at=sent)
        session.add(email)
        session.flush()
        if sent:
            session.add(Event(lead_id=ids[lead], type="sent", at=sent, outbox_id=email.id))
        for kind, at, machine in events:
            session.add(Event(lead_id=ids[lead], type=kind, at=at, outbox_id=email.id,
                              machine=machine))
    lead, at = UNSUBSCRIBED
    session.add(Event(lead_id=ids[lead], type="unsubscribed", at=at))
