"""A small engagement simulator for the demo and `nurture simulate`: leads open, click, fill in
forms, reply and unsubscribe from the emails they were sent, and reps work the deals handed to
them — all recorded through the same paths as the real thing (`record_event` for engagement,
`move_lead` for a rep moving a deal), so scoring, rules and handoffs run as they would live.

Engagement is concentrated, as it is in real lists: each lead has an interest level drawn once
from its id and the seed (a few hot leads, many lukewarm ones, a cold tail), which multiplies
the per-email rates. The dice are rolled per lead and email from the seed, so the same seed
gives the same run whatever order emails are looked at in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from nurture.core.sequences import Pipeline
from nurture.engine.events import NewEvent, record_event
from nurture.engine.stages import move_lead
from nurture.files.loader import Project
from nurture.store.engine import writing
from nurture.store.models import Lead, Outbox

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
LEADS = Lead.__table__  # type: ignore[attr-defined]
LOOK_BACK = timedelta(days=2)
# (share of leads, interest): engagement per email is the base rate times the interest.
INTEREST = ((0.15, 3.0), (0.50, 1.0), (0.35, 0.2))
PRICING_URL = "https://relay.example.com/pricing"
CONTENT_URL = "https://relay.example.com/guides/automation-playbook"
SIMULATED_REP = "simulated rep"


@dataclass(frozen=True)
class Rates:
    """Chances per delivered email for a lead of average interest (a click or a reply implies
    an open), and what a click leads to; `advance` and `lose` are a deal's chances per week,
    in each sales stage, of moving on or being lost."""

    open: float = 0.45
    click: float = 0.12
    reply: float = 0.04
    unsubscribe: float = 0.006
    pricing_share: float = 0.25  # of clicks, on the pricing page
    form: float = 0.15  # of clicks, followed by a demo request
    advance: float = 0.30
    lose: float = 0.10


class EngagementSimulator:
    """Rolls the dice once for each email sent since it last looked."""

    def __init__(self, engine: Engine, project: Project, rates: Rates = Rates(),
                 seed: int = 7) -> None:
        self.engine, self.project, self.rates, self.seed = engine, project, rates, seed
        self.seen: set[int] = set()
        self.counts: dict[str, int] = {}

    def step(self, now: datetime) -> int:
        """Simulate engagement with the emails sent since the last step; returns events made."""
        made = 0
        with writing(self.engine) as connection:
            rows = connection.execute(
                select(OUTBOX.c.id, OUTBOX.c.lead_id)
                .where(OUTBOX.c.status == "sent", OUTBOX.c.sent_at > now - LOOK_BACK)
                .order_by(OUTBOX.c.id)
            ).all()
            for outbox_id, lead_id in rows:
                if outbox_id in self.seen:
                    continue
                self.seen.add(outbox_id)
                dice = random.Random(f"{self.seed}:{outbox_id}")
                for kind, data in self._roll(dice, interest(self.seed, lead_id)):
                    self._record(connection, NewEvent(
                        lead_id=lead_id, type=kind, at=now, outbox_id=outbox_id,
                        data={"simulated": True, **data}, source="simulator"))
                    made += 1
        return made

    def _roll(self, dice: random.Random, interest: float) -> list[tuple[str, dict[str, str]]]:
        rates, draw = self.rates, dice.random
        if draw() < rates.unsubscribe:
            return [("unsubscribed", {})]
        opened = min(1.0, rates.open * interest)
        if not rates.open or draw() >= opened:
            return []
        events: list[tuple[str, dict[str, str]]] = [("opened", {})]
        if draw() < min(1.0, rates.click * interest) / opened:
            events.append(("clicked", {"url": PRICING_URL if draw() < rates.pricing_share
                                       else CONTENT_URL}))
            if draw() < rates.form:
                events.append(("form_submitted", {"form": "demo-request"}))
        if draw() < min(1.0, rates.reply * interest) / opened:
            events.append(("replied", {}))
        return events

    def _record(self, connection: Connection, event: NewEvent) -> None:
        record_event(connection, self.project, event)
        self.counts[event.type] = self.counts.get(event.type, 0) + 1


def interest(seed: int, lead_id: int) -> float:
    """The lead's interest level: the same for a lead and seed, whatever else happens."""
    draw = random.Random(f"{seed}:lead:{lead_id}").random()
    for share, level in INTEREST:
        if draw < share:
            return level
        draw -= share
    return INTEREST[-1][1]


class SalesSimulator:
    """Reps working the deals handed to them, once per simulated day: a rep records `contacted`
    for a lead assigned to them, then each deal in a sales stage moves on to the next sales
    stage (from the last, to the won stage) or is lost, at the weekly rates of `Rates`."""

    def __init__(self, engine: Engine, project: Project, rates: Rates = Rates(),
                 seed: int = 7) -> None:
        self.engine, self.project, self.rates, self.seed = engine, project, rates, seed
        self.contacted: set[int] = set()
        self.moves: dict[tuple[str, str], int] = {}
        self.days = 0
        self.next_day: datetime | None = None

    def deal_steps(self) -> list[tuple[str, str]]:
        """The moves reps make here: (from, to) for each sales stage."""
        pipeline = self.project.pipeline
        deal_stages = _deal_stages(pipeline)
        outcomes = [_outcome_stage(pipeline, "won"), _outcome_stage(pipeline, "lost")]
        steps = list(zip(deal_stages, deal_stages[1:], strict=False))
        return steps + [(stage, outcome) for stage in deal_stages for outcome in outcomes
                        if outcome]

    def step(self, now: datetime) -> None:
        """Once a simulated day: contact new leads, move deals on or lose them."""
        if self.next_day is not None and now < self.next_day:
            return
        self.next_day = now + timedelta(days=1)
        self.days += 1
        pipeline = self.project.pipeline
        deal_stages = _deal_stages(pipeline)
        with writing(self.engine) as connection:
            owned = connection.execute(
                select(LEADS.c.id, LEADS.c.stage).where(LEADS.c.owner_id.is_not(None),
                                                        LEADS.c.stage.in_(deal_stages))
                .order_by(LEADS.c.id)).all()
            for lead_id, stage in owned:
                if lead_id not in self.contacted:
                    self.contacted.add(lead_id)
                    record_event(connection, self.project, NewEvent(
                        lead_id, "contacted", now, {"simulated": True}, source=SIMULATED_REP))
                    continue
                to_stage = self._decide(pipeline, deal_stages, stage, lead_id)
                if to_stage and move_lead(connection, self.project, lead_id, to_stage,
                                          "simulated deal progress", now, SIMULATED_REP):
                    self.moves[(stage, to_stage)] = self.moves.get((stage, to_stage), 0) + 1

    def _decide(self, pipeline: Pipeline, deal_stages: list[str], stage: str,
                lead_id: int) -> str | None:
        draw = random.Random(f"{self.seed}:deal:{lead_id}:{self.days}").random()
        advance, lose = _daily(self.rates.advance), _daily(self.rates.lose)
        if draw < advance:
            position = deal_stages.index(stage)
            if position + 1 < len(deal_stages):
                return deal_stages[position + 1]
            return _outcome_stage(pipeline, "won")
        if draw < advance + lose:
            return _outcome_stage(pipeline, "lost")
        return None


def _deal_stages(pipeline: Pipeline) -> list[str]:
    """The stages a sales team works a deal through, in funnel order (no outcome yet)."""
    return [stage.id for stage in pipeline.stages if stage.team == "sales" and not stage.outcome]


def _daily(weekly: float) -> float:
    """The chance per day that makes `weekly` the chance over seven days."""
    return 1.0 - (1.0 - weekly) ** (1 / 7)


def _outcome_stage(pipeline: Pipeline, outcome: str) -> str | None:
    return next((s.id for s in pipeline.stages if s.outcome == outcome), None)
