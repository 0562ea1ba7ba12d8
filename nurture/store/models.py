"""The tables. Every datetime is aware UTC (`UTCDateTime`), every email lowercased (`LowerString`).

Status values are plain strings, listed in the *_STATUSES tuples below; the code that moves a row
from one status to another owns the rules, the database only stores them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
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
    """A sales rep who can own leads and receive handoffs."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(sa_type=LowerString, unique=True)
    teams: list[str] = Field(default_factory=list, sa_type=JSONType)
    active: bool = True


class Lead(SQLModel, table=True):
    """A person being nurtured; one row per (case-insensitive) email."""

    __table_args__ = (
        Index(None, "stage", "status"),
        # The enrollment sweep's queue: leads that entered a stage or changed since last looked at.
        Index("ix_lead_needs_enrollment", "id", sqlite_where=text("needs_enrollment"),
              postgresql_where=text("needs_enrollment")),
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
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="enrollment.id", ondelete="CASCADE")
    touch_index: int
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE", index=True)
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


class Event(SQLModel, table=True):
    """Something that happened to a lead (opened, clicked, replied, form_submitted, …)."""

    __table_args__ = (
        Index(None, "lead_id", "at"),
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
