"""Typed models of the files marketers write: the pipeline (stages, scoring, rules) and sequences.

Models validate their own fields (durations, windows, expressions); `nurture.files` turns a
pydantic error location into FILE:LINE: field: message.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from nurture.core.durations import Wait, parse_wait
from nurture.core.expressions import Condition, compile_condition
from nurture.core.windows import SendWindow, has_holiday_calendar, parse_window

EVENT_TYPES = (
    "sent", "delivered", "opened", "clicked", "replied", "auto_replied", "bounced",
    "unsubscribed", "complained", "form_submitted", "page_visited", "meeting_booked",
    "contacted",
)
STOP_REASONS = (*EVENT_TYPES, "stage_changed")
GRADES = ("A", "B", "C")
TEAMS = ("marketing", "sales", "account_management")
MIN_TOUCHES, MAX_TOUCHES = 6, 8
_ID = r"^[a-z0-9][a-z0-9_-]*$"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_as_list)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _condition(kind: str, value: str | None) -> Condition | None:
    return None if value is None else compile_condition(value, kind)


class Stage(_Model):
    """A step of the pipeline."""

    id: str = Field(pattern=_ID)
    name: str = ""
    team: Literal["marketing", "sales", "account_management"] = "marketing"
    probability: float = Field(ge=0.0, le=1.0)
    max_days: int | None = Field(default=None, gt=0)
    on_stale: str | None = None
    outcome: Literal["won", "lost"] | None = None

    @property
    def label(self) -> str:
        return self.name or self.id.replace("_", " ").replace("-", " ").title()

    @property
    def is_terminal(self) -> bool:
        return self.outcome == "won"


class Bonus(_Model):
    event: str
    when: str
    points: int

    @field_validator("when")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compile_condition(value, "bonus")
        return value


class Cap(_Model):
    """At most `points` from events of one type within `per` (e.g. 15 from opens per week)."""

    points: int = Field(gt=0)
    per: str = "7d"

    @field_validator("per")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_wait(value)
        return value


class Scoring(_Model):
    half_life_days: float | None = Field(default=None, gt=0)
    points: dict[str, int] = Field(default_factory=dict)
    bonus: list[Bonus] = Field(default_factory=list)
    caps: dict[str, Cap] = Field(default_factory=dict)
    fit: dict[Literal["A", "B", "C"], str] = Field(default_factory=dict)

    @field_validator("fit")
    @classmethod
    def _fit_compiles(cls, value: dict[str, str]) -> dict[str, str]:
        for expression in value.values():
            compile_condition(expression, "fit")
        return value


class Rule(_Model):
    name: str
    from_: StrList = Field(alias="from")
    to: str
    when: str
    action: Literal["promote", "demote", "recycle", "disqualify"] | None = None
    handoff: bool = False
    cooldown_days: float = Field(default=7, ge=0)

    @field_validator("when")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compile_condition(value, "rule")
        return value

    @property
    def condition(self) -> Condition:
        return compile_condition(self.when, "rule")


class Pipeline(_Model):
    stages: list[Stage] = Field(alias="stage", min_length=1)
    scoring: Scoring = Field(default_factory=Scoring)
    rules: list[Rule] = Field(default_factory=list, alias="rule")
    entry_stage: str | None = None

    @model_validator(mode="after")
    def _unique_stage_ids(self) -> Pipeline:
        seen: set[str] = set()
        for stage in self.stages:
            if stage.id in seen:
                raise ValueError(f"stage {stage.id!r} is defined twice")
            seen.add(stage.id)
        return self

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    @property
    def first_stage(self) -> str:
        return self.entry_stage or self.stages[0].id


class WindowSpec(_Model):
    days: str = "mon-sun"
    from_: str = Field(default="00:00", alias="from")
    to: str = "24:00"
    holidays: str | None = None  # "lead" (the lead's country) or an ISO country code

    @model_validator(mode="after")
    def _parses(self) -> WindowSpec:
        parse_window(self.days, self.from_, self.to)
        return self

    @field_validator("holidays")
    @classmethod
    def _known_calendar(cls, value: str | None) -> str | None:
        if value is not None and value != "lead" and not has_holiday_calendar(value):
            raise ValueError(f"{value!r} is neither \"lead\" (the lead's country) nor a country "
                             "code with a holiday calendar (e.g. \"US\", \"DE\")")
        return value

    @cached_property
    def window(self) -> SendWindow:
        """Parsed once: dispatch asks for it for every touch."""
        return parse_window(self.days, self.from_, self.to)


class Touch(_Model):
    kind: Literal["email", "task"] = "email"
    wait: str = "0d"
    template: str | None = None
    subject: StrList = Field(default_factory=list)
    skip_when: str | None = None
    task: str | None = None
    track: bool = True

    @field_validator("wait")
    @classmethod
    def _wait_parses(cls, value: str) -> str:
        parse_wait(value)
        return value

    @field_validator("skip_when")
    @classmethod
    def _skip_compiles(cls, value: str | None) -> str | None:
        _condition("touch", value)
        return value

    @model_validator(mode="after")
    def _has_what_it_needs(self) -> Touch:
        if self.kind == "email":
            if not self.template:
                raise ValueError("an email touch needs a template")
            if not self.subject:
                raise ValueError("an email touch needs a subject (or a list of A/B subjects)")
        elif not (self.task or self.template):
            raise ValueError("a task touch needs a task description (task = \"Call …\")")
        return self

    @property
    def delay(self) -> Wait:
        return parse_wait(self.wait)

    @property
    def skip_condition(self) -> Condition | None:
        return _condition("touch", self.skip_when)


class Sequence(_Model):
    id: str = Field(pattern=_ID)
    stage: str
    name: str = ""
    description: str = ""
    enroll_when: str | None = None
    send_window: WindowSpec = Field(default_factory=WindowSpec)
    stop_on: list[str] = Field(default_factory=lambda: ["replied", "unsubscribed", "bounced",
                                                        "complained", "stage_changed"])
    account_stop: bool = False
    track_links: bool = True
    track_opens: bool = True
    touches: list[Touch] = Field(alias="touch", min_length=1)

    @field_validator("enroll_when")
    @classmethod
    def _enroll_compiles(cls, value: str | None) -> str | None:
        _condition("enroll_when", value)
        return value

    @field_validator("stop_on")
    @classmethod
    def _known_stops(cls, value: list[str]) -> list[str]:
        for reason in value:
            if reason not in STOP_REASONS:
                raise ValueError(f"unknown stop_on {reason!r}; use: {', '.join(STOP_REASONS)}")
        return value

    @property
    def enroll_condition(self) -> Condition | None:
        return _condition("enroll_when", self.enroll_when)
