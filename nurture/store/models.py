"""The tables. Every datetime is aware UTC (`UTCDateTime`), every email lowercased (`LowerString`).

Status values are plain strings, listed in the *_STATUSES tuples below; the code that moves a row
from one status to another owns the rules, the database only stores them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel

from nurture.store.types import JSONType, LowerString, UTCDateTime

LEAD_STATUSES = (
    "active", "paused", "unsubscribed", "bounced", "suppressed", "converted", "disqualified",
)
ENROLLMENT_STATUSES = ("active", "paused", "finished", "stopped")
OUTBOX_STATUSES = ("pending", "sending", "sent", "deferred", "skipped", "failed")
FIT_GRADES = ("A", "B", "C", "D")
SUPPRESSION_KINDS = ("email", "domain")

# Named constraints keep future migrations simple (SQLite batch mode needs names to drop them).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _when(*, nullable: bool = False) -> Any:
    """A timestamp column: aware UTC in, aware UTC out."""
    return Field(default=None, sa_type=UTCDateTime) if nullable else Field(sa_type=UTCDateTime)


def _lead_fk() -> Any:
    return Field(foreign_key="lead.id", ondelete="CASCADE")


def _rep_fk() -> Any:
    """An owner: leads and tasks outlive a rep who is deleted."""
    return Field(default=None, foreign_key="rep.id", ondelete="SET NULL", index=True)


class Rep(SQLModel, table=True):
    """A sales rep who can own leads and receive handoffs. Every column but `away` and
    `rotation_credit` is copied from the [[reps]] of the configuration (engine/reps.py)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(sa_type=LowerString, unique=True)
    teams: list[str] = Field(default_factory=list, sa_type=JSONType)
    countries: list[str] = Field(default_factory=list, sa_type=JSONType)
    regions: list[str] = Field(default_factory=list, sa_type=JSONType)
    industries: list[str] = Field(default_factory=list, sa_type=JSONType)
    capacity: int = 50
    weight: int = 1
    timezone: str = "UTC"
    working_hours: str = "09:00-17:00"
    working_days: str = "mon-fri"
    # Out-of-office periods, [{"start": "2026-07-01", "end": "2026-07-14"}]: from the
    # configuration, and set through the API (kept when the configuration is synced again).
    out_of_office: list[dict[str, str]] = Field(default_factory=list, sa_type=JSONType)
    away: list[dict[str, str]] = Field(default_factory=list, sa_type=JSONType)
    rotation_credit: float = 0.0  # weighted round-robin state (core/assignment.py)
    active: bool = True


class Lead(SQLModel, table=True):
    """A person being nurtured; one row per (case-insensitive) email."""

    __table_args__ = (
        # Leads per stage now (reports/snapshot.py), read from this index alone.
        Index("ix_lead_snapshot", "stage", "status", "created_at", "stage_entered_at",
              "deal_value", "visited"),
        Index(None, "created_at"),
        # The enrollment sweep's queue: leads that entered a stage or changed since last looked at.
        Index("ix_lead_needs_enrollment", "id", sqlite_where=text("needs_enrollment"),
              postgresql_where=text("needs_enrollment")),
        # The rules sweep's queue: leads whose time-based facts next change by then.
        Index("ix_lead_rules_due", "rules_due_at", sqlite_where=text("rules_due_at IS NOT NULL"),
              postgresql_where=text("rules_due_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=LowerString, unique=True)
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    industry: str | None = None
    employees: int | None = None
    source: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    region: str | None = None
    timezone: str | None = None  # IANA name
    phone: str | None = None
    website: str | None = None
    deal_value: float | None = None
    custom: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    stage: str
    status: str = "active"
    paused_until: datetime | None = _when(nullable=True)
    score: float = 0.0
    fit: str = "D"
    owner_id: int | None = _rep_fk()
    stage_entered_at: datetime = _when()
    last_engaged_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    needs_enrollment: bool = True  # set on import, stage change and attribute change
    scored_at: datetime | None = _when(nullable=True)  # `score` and `fit` computed as of then
    # When the rules sweep looks at the lead next (None: only an event or a change will). An
    # insert that leaves it out (the CSV import, a new Lead) gets a time long past: due at once.
    rules_due_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime,
        sa_column_kwargs={"server_default": text("'1970-01-01 00:00:00.000000'")})
    # Every stage the lead ever entered, as a stage set (store/stage_sets.py); kept by
    # store/lead_paths.py with the stage entries.
    visited: str = Field(default="", sa_column_kwargs={"server_default": ""})


# The reports' source and industry filters ignore case (reports/filters.py); they look for
# lead ids, which the index holds (on SQLite every index holds the row id). PostgreSQL reads an
# expression index alone only when it also holds the column itself (migration 0008).
_LEAD = Lead.__table__  # type: ignore[attr-defined]
Index("ix_lead_source_lower", func.lower(_LEAD.c.source), _LEAD.c.id,
      postgresql_include=["source"])
Index("ix_lead_industry_lower", func.lower(_LEAD.c.industry), _LEAD.c.id,
      postgresql_include=["industry"])


class StageChange(SQLModel, table=True):
    """One move of a lead between stages, with the rule (or person) and reason behind it."""

    __tablename__ = "stage_change"
    __table_args__ = (Index(None, "lead_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = _lead_fk()
    from_stage: str | None = None
    to_stage: str
    at: datetime = _when()
    rule: str | None = None
    reason: str
    score_before: float
    score_after: float


class Enrollment(SQLModel, table=True):
    """One lead in one sequence: where it is and when its next touch is due."""

    __table_args__ = (
        # One enrollment per lead, sequence and stay in the stage: `stage_entered_at` is copied from
        # the lead when enrolling, so a retried tick or a second worker enrolling the same lead for
        # the same stay collides here, while a lead that leaves and later re-enters the stage has
        # a new `stage_entered_at` and may run the sequence again.
        UniqueConstraint("lead_id", "sequence_id", "stage_entered_at"),
        # The queue: due enrollments are found through this index, which holds active rows only.
        Index(
            "ix_enrollment_due",
            "next_touch_at",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = _lead_fk()
    sequence_id: str
    stage: str
    stage_entered_at: datetime = _when()
    position: int = 0  # index of the next touch
    next_touch_at: datetime | None = _when(nullable=True)
    status: str = "active"
    stop_reason: str | None = None
    created_at: datetime = _when()
    updated_at: datetime = _when()
    claimed_by: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = _when(nullable=True)


class Outbox(SQLModel, table=True):
    """A message about to be, or already, sent; written before the SMTP transaction starts."""

    __table_args__ = (
        # At most one message per touch of an enrollment, however many times a send is retried.
        UniqueConstraint("enrollment_id", "touch_index"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "sent_at"),  # sending caps count the last hour's and day's sends
        # Emails refused with a bounce count as sent when they were written (reports/emails.py).
        Index("ix_outbox_failed_created", "created_at", sqlite_where=text("status = 'failed'"),
              postgresql_where=text("status = 'failed'")),
        # A lead's emails; the last sent before an event naming none (store/email_outcomes.py).
        # It holds what the reports count, so one source's emails are counted from it alone
        # (reports/emails.py, migration 0008).
        Index("ix_outbox_lead_emails", "lead_id", "sent_at", "status", "enrollment_id",
              "touch_index", "variant", "outcomes", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="enrollment.id", ondelete="CASCADE")
    touch_index: int
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE")
    message_id: str = Field(unique=True)
    subject: str
    variant: int = 0
    status: str = "pending"
    reason: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)
    transport: str | None = None
    # What its recipient did, as bits (store/email_outcomes.py): opened, clicked, … by a person.
    outcomes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Event(SQLModel, table=True):
    """Something that happened to a lead (opened, clicked, replied, form_submitted, …)."""

    __table_args__ = (
        # A lead's events by time; with type, machine flag and id, a score is rebuilt from this
        # index alone (engine/scoring.py, `events_as_json`; SQLite's indexes hold the id anyway).
        Index(None, "lead_id", "at", "type", "machine", postgresql_include=["id"]),
        # An API client's batch retried with the same ids stores each event once. NULL client ids
        # (tracking hits, replies) never collide: NULLs are distinct in a UNIQUE constraint.
        UniqueConstraint("source", "client_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = _lead_fk()
    type: str
    at: datetime = _when()
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    outbox_id: int | None = Field(
        default=None, foreign_key="outbox.id", ondelete="SET NULL", index=True
    )
    source: str | None = None
    client_id: str | None = None
    machine: bool = False  # e.g. an open by a mail scanner, kept but not scored


class ScoreChange(SQLModel, table=True):
    """One change of a lead's score and why, so a score can always be explained."""

    __tablename__ = "score_change"
    __table_args__ = (Index(None, "lead_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = _lead_fk()
    event_id: int | None = Field(
        default=None, foreign_key="event.id", ondelete="SET NULL", index=True
    )
    at: datetime = _when()
    delta: float
    score_after: float
    reason: str


class Suppression(SQLModel, table=True):
    """An address or a whole domain that must never be mailed."""

    id: int | None = Field(default=None, primary_key=True)
    value: str = Field(sa_type=LowerString, unique=True)
    kind: str  # "email" or "domain"
    reason: str
    created_at: datetime = _when()


class Task(SQLModel, table=True):
    """Work for a rep (a call, a follow-up), often created by a `kind = "task"` touch."""

    __table_args__ = (
        # Like the outbox: one task per touch of an enrollment. Manual tasks have NULLs here.
        UniqueConstraint("enrollment_id", "touch_index"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE", index=True)
    owner_id: int | None = _rep_fk()
    enrollment_id: int | None = Field(
        default=None, foreign_key="enrollment.id", ondelete="SET NULL"
    )
    touch_index: int | None = None
    title: str
    due_at: datetime = _when()
    done_at: datetime | None = _when(nullable=True)


# ── Handoff to reps (nurture/engine/handoff.py, sla.py, digest.py, notices.py) ──────────────

# Handoff requests among all events, so looking for unhandled ones reads only those
# (see engine/handoff_queue.py for the cursor that keeps the scan to the pending ones).
Index("ix_event_handoff_requested", Event.__table__.c.id,  # type: ignore[attr-defined]
      sqlite_where=text("type = 'handoff_requested'"),
      postgresql_where=text("type = 'handoff_requested'"))


class Handoff(SQLModel, table=True):
    """One handled `handoff_requested` event: the rep who got the lead, why, and the SLA clock.
    The unique event id is the claim: a second worker's insert for the same event fails."""

    __table_args__ = (
        # The SLA queue: only handoffs still waiting for a `contacted` event are in it.
        Index("ix_handoff_sla_due", "sla_due_at", sqlite_where=text("sla_due_at IS NOT NULL"),
              postgresql_where=text("sla_due_at IS NOT NULL")),
        Index(None, "rep_id", "assigned_at"),  # a rep's new leads, for the digest
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE", unique=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE", index=True)
    rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    status: str  # "assigned", "unassigned" (no rep could take it) or "failed"
    reason: str
    rule: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    created_at: datetime = _when()
    assigned_at: datetime | None = _when(nullable=True)
    holders: list[int] = Field(default_factory=list, sa_type=JSONType)  # every rep who had it
    # "awaiting" contact, "reminded" (a reassignment starts "awaiting" again for the new rep),
    # then "contacted", "escalated" (nobody else could take it), "superseded" (a newer handoff
    # of the lead) or "owner_changed" (moved by a person).
    sla_state: str | None = None
    sla_due_at: datetime | None = _when(nullable=True)


class HandoffCursor(SQLModel, table=True):
    """Where the scan for unhandled handoff requests starts (one row, id 1)."""

    __tablename__ = "handoff_cursor"

    id: int | None = Field(default=None, primary_key=True)
    floor: int = 0  # every request with an event id up to here is handled
    candidate: int | None = None  # the next floor, once `candidate_since` is old enough
    candidate_since: datetime | None = _when(nullable=True)


class Notice(SQLModel, table=True):
    """An email to a rep or the manager, or a webhook POST, written before it is sent and
    retried with backoff until delivered or given up; `key` makes each one happen once."""

    __table_args__ = (
        Index("ix_notice_due", "next_attempt_at", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        Index(None, "rep_id", "purpose", "created_at"),  # a rep's previous digest
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # e.g. "handoff:12:email", "digest:3:2026-03-02"
    kind: str  # "email" or "webhook"
    purpose: str  # "handoff", "sla_reminder", "sla_reassigned", "digest", "unassigned"
    rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    lead_id: int | None = Field(default=None, foreign_key="lead.id", ondelete="SET NULL")
    recipient: str  # the email address; for a webhook, the configured URL is used
    message_id: str
    body: str  # the whole MIME message, or the JSON body of the POST
    status: str = "pending"  # "pending", "sent", "failed", or "skipped" (nothing to say)
    attempts: int = 0
    next_attempt_at: datetime | None = _when(nullable=True)
    last_error: str | None = None
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)
    lease_token: str | None = None
    lease_expires_at: datetime | None = _when(nullable=True)


class Setting(SQLModel, table=True):
    """A named value the instance keeps between runs (e.g. "scoring_fingerprint")."""

    key: str = Field(primary_key=True)
    value: str


# The reports' summary tables live in their own module; importing the models registers them too.
from nurture.store.report_models import (  # noqa: E402, F401
    DailyEmails,
    DailyEntries,
    DailyGaps,
    DailyLeads,
    LeadTally,
    StageEntry,
)
