"""What /api accepts and answers, as pydantic models (they make /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from nurture.core.sequences import EVENT_TYPES
from nurture.store.models import Enrollment, Event, Lead, Outbox, ScoreChange, StageChange

MAX_BATCH = 1000
EVENT_NAME = r"^[a-z][a-z0-9_]{0,63}$"
Text = Annotated[str | None, Field(default=None, max_length=1000)]


MAX_ID = 2**31 - 1  # the database's integer: a larger id names no row
LeadId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """Refuse a NUL character anywhere in the payload: no column can store it."""
        if _holds_nul(value):
            raise ValueError("text may not contain a NUL character (\\u0000)")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


class LeadIn(_In):
    """A lead to create or update by email. Values are checked as the CSV importer checks
    them; a field left out (or null) keeps what is stored, custom fields merge key by key."""

    email: str = Field(max_length=254)
    first_name: Text
    last_name: Text
    company: Text
    title: Text
    industry: Text
    employees: int | str | None = None
    source: Text
    country: Text
    region: Text
    timezone: Text
    phone: Text
    website: Text
    deal_value: float | str | None = None
    custom: dict[str, str | int | float | bool] = Field(default_factory=dict)
    stage: str | None = Field(
        default=None, description="the stage a new lead starts in (default: the pipeline's "
                                  "entry stage); an existing lead stays in its stage")


class EventIn(_In):
    """One thing that happened to a lead."""

    client_id: str = Field(min_length=1, max_length=200, description=(
        "your id for the event: an event whose client_id was already stored is not stored "
        "again, so a failed batch can simply be sent again"))
    type: str = Field(pattern=EVENT_NAME, description=(
        f"one of {', '.join(EVENT_TYPES)}, or a custom snake_case name"))
    lead_id: LeadId | None = None
    lead_email: str | None = Field(default=None, max_length=254)
    at: AwareDatetime | None = Field(default=None, description="when (default: on receipt)")
    data: dict[str, Any] = Field(default_factory=dict, description=(
        "details, e.g. {\"url\": …} for page_visited; conditions see them as event.NAME"))

    @model_validator(mode="after")
    def _one_lead(self) -> EventIn:
        if (self.lead_id is None) == (self.lead_email is None):
            raise ValueError("name the lead with lead_id or lead_email (exactly one)")
        return self


def _shape(value: Any) -> str:
    return "events" if isinstance(value, list) else "event"


EventsIn = Annotated[
    Annotated[EventIn, Tag("event")]
    | Annotated[list[EventIn], Tag("events"), Field(max_length=MAX_BATCH)],
    Discriminator(_shape),
]
"""One event, or a batch (a JSON array) of up to MAX_BATCH stored all or nothing."""


class LeadSaved(BaseModel):
    created: bool
    lead: Lead


class StoredEvent(BaseModel):
    client_id: str
    id: int
    duplicate: bool = Field(description="already stored by an earlier request")


class EventsStored(BaseModel):
    stored: int
    duplicates: int
    events: list[StoredEvent]


class MoveIn(_In):
    """A move of a lead to another stage, by hand."""

    stage: str = Field(min_length=1, max_length=100, description="the id of a stage in "
                                                                 "pipeline.toml")
    reason: str = Field(min_length=1, max_length=1000, description=(
        "why, in words: kept in the lead's stage history"))


class LeadMoved(BaseModel):
    lead: Lead
    stage_change: StageChange


class LeadStoryOut(BaseModel):
    """The lead with its stage and score history, events, enrollments and emails, oldest first."""

    lead: Lead
    stage_changes: list[StageChange]
    score_changes: list[ScoreChange]
    events: list[Event]
    enrollments: list[Enrollment]
    outbox: list[Outbox]
