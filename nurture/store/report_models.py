"""The tables the reports read instead of the raw history, kept by the writers and rebuilt from
that history by `nurture report rebuild` (reports/rebuild.py).

Per row: `StageEntry`, one per entry of a lead into a stage (its creation included), with
what came before and after it as stage sets; `LeadTally`, what a lead adds to DailyLeads;
`Lead.visited` and `Outbox.outcomes` (models.py). None of it depends on pipeline.toml: the
reports read the stage sets against the pipeline they are given.

Per day (UTC day numbers, days since 1970-01-01): the Daily* tables. Writers only ever
append rows (`pending`, store/tallies.py), so no two transactions wait on one row; `fold`
adds them into one row per key (`pending` false). A report sums both, so it is exact whether
or not they were folded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, text
from sqlmodel import Field, SQLModel

from nurture.store.types import UTCDateTime

FOLDED = text("NOT pending")
# Pending rows come and go with every change: 64-bit ids (SQLite's rowid is 64-bit already).
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


def _when(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime) if nullable else Field(sa_type=UTCDateTime)


def _key(table: str, *columns: str) -> Index:
    """One folded row per key: the conflict target of `fold`."""
    return Index(f"uq_{table}_key", *columns, unique=True, sqlite_where=FOLDED,
                 postgresql_where=FOLDED)


class StageEntry(SQLModel, table=True):
    """One entry of a lead into a stage: its creation (seq 0, unless a change with no
    from_stage records it) or a stage change. Sets are stage sets (store/stage_sets.py)."""

    __tablename__ = "stage_entry"
    __table_args__ = (
        Index(None, "lead_id", "seq", unique=True),
        # A period's entries, those of one source or industry told in the index.
        Index("ix_stage_entry_at", "at", "lead_source", "lead_industry"),
        # The entries of one source, in the order the reports group them: read from this
        # index alone, grouped without sorting (reports/entries.py).
        Index("ix_stage_entry_source", "lead_source", "stage", "earlier", "later", "tied", "at",
              "prev_at"),
        # Wins and the other first entries into a stage: read from this index alone.
        Index("ix_stage_entry_stage", "stage", "at", "earlier", "lead_created_at", "deal_value",
              "lead_source", "lead_industry"),
        # Re-entries, for a period that starts part way through a day (reports/entries.py).
        Index("ix_stage_entry_prev_at", "prev_at", sqlite_where=text("prev_at IS NOT NULL"),
              postgresql_where=text("prev_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE")
    seq: int  # order among the lead's entries: by time, then as recorded
    stage: str
    at: datetime = _when()
    prev_at: datetime | None = _when(nullable=True)  # the lead's previous entry into this stage
    earlier: str  # stages entered before this entry
    later: str  # stages entered after it
    tied: str  # stages entered after it at the same instant
    # The lead's, copied: its creation, deal value, and source and industry in lower case (as
    # the reports' filters compare them).
    lead_created_at: datetime = _when()
    deal_value: float | None = None
    lead_source: str | None = None
    lead_industry: str | None = None


class LeadTally(SQLModel, table=True):
    """What a lead adds to DailyLeads now, so a change can take it back out."""

    __tablename__ = "lead_tally"

    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE", primary_key=True)
    day: int
    source: str
    industry: str
    visited: str
    deal_value: float | None = None


class DailyEntries(SQLModel, table=True):
    """Entries into a stage per day, by what the lead did before and after (StageEntry)."""

    __tablename__ = "daily_entries"
    __table_args__ = (_key("daily_entries", "day", "stage", "prev_day", "earlier", "later",
                           "tied"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    pending: bool
    day: int
    stage: str
    prev_day: int  # day of the previous entry into the stage, -1 for none
    earlier: str
    later: str
    tied: str
    n: int


class DailyGaps(SQLModel, table=True):
    """For each first entry of a lead into a stage, the time since each earlier first entry:
    `stage_order` is the stages the lead had entered by then, in order of first entry (the
    entry's own last), `from_stage` the earlier one measured from."""

    __tablename__ = "daily_gaps"
    __table_args__ = (_key("daily_gaps", "day", "stage_order", "from_stage"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    pending: bool
    day: int
    stage_order: str
    from_stage: str
    n: int
    seconds: int = Field(sa_type=BigInteger)


class DailyLeads(SQLModel, table=True):
    """Leads created per day by source, industry ('(none)' for none) and stages visited."""

    __tablename__ = "daily_leads"
    __table_args__ = (_key("daily_leads", "day", "source", "industry", "visited"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    pending: bool
    day: int
    source: str
    industry: str
    visited: str
    n: int
    value: float  # deal values, none counted as 0


class DailyEmails(SQLModel, table=True):
    """Emails handed to the mail server per day (reports/emails.py says which count), by
    sequence, touch and subject variant, with how many had each outcome."""

    __tablename__ = "daily_emails"
    __table_args__ = (_key("daily_emails", "day", "sequence_id", "touch_index", "variant"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    pending: bool
    day: int
    sequence_id: str
    touch_index: int
    variant: int
    sent: int
    bounced: int
    opened: int
    clicked: int
    replied: int
    unsubscribed: int
    subject: str | None = None  # the least subject of those sent: one subject as sent
