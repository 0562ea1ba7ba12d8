"""`nurture simulate`: the whole pipeline on a virtual clock against a throw-away database.

Sequences, simulated engagement, scoring, rules and handoffs run through the same code as the
daemon — the dispatcher renders and "sends" every email into a Maildir in a temporary folder —
but time is a ManualClock moved one step at a time, so 90 days take seconds to minutes, and
nothing real is touched: not the configured database, not the mail server. Marketers use it to
see what their rules would do before going live.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, case, func, select

from nurture.clock import ManualClock
from nurture.core.reach import reachable_stages
from nurture.daemon import dispatch_config
from nurture.engine.compose import Identity
from nurture.engine.dispatch import Dispatcher
from nurture.engine.enrollment_sweep import enroll_pending
from nurture.engine.handoff import run_handoffs
from nurture.engine.reps import sync_reps
from nurture.engine.rules_sweep import sweep_rules
from nurture.files.loader import Project, load_project
from nurture.mail.maildir import MaildirTransport
from nurture.render import TemplateRenderer
from nurture.settings import Settings
from nurture.simulator import EngagementSimulator, Rates, SalesSimulator
from nurture.store.engine import make_engine, upgrade
from nurture.store.importing import import_leads
from nurture.store.models import Handoff, Lead, Outbox, Rep, StageChange

LEADS = Lead.__table__  # type: ignore[attr-defined]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
REPS = Rep.__table__  # type: ignore[attr-defined]
HANDOFFS = Handoff.__table__  # type: ignore[attr-defined]
STAGE_CHANGES = StageChange.__table__  # type: ignore[attr-defined]
WEEK = timedelta(days=7)

# A job run at every step: (engine, project, the simulation's settings, now).
Job = Callable[[Engine, Project, Settings, datetime], Awaitable[None]]


async def _rules(engine: Engine, project: Project, run: Settings, now: datetime) -> None:
    sweep_rules(engine, project, now, max_batches=None)


async def _hand_off(engine: Engine, project: Project, run: Settings, now: datetime) -> None:
    # `run` is the simulation's settings: its Maildir is in the throw-away folder.
    await run_handoffs(engine, run, project, MaildirTransport(run.maildir), now)


# The daemon's pipeline jobs, run at every step after sending and engagement: the rules sweep
# (time-based rules, stale leads, decay), then handoffs to reps.
_PIPELINE_JOBS: tuple[Job, ...] = (_rules, _hand_off)


@dataclass(frozen=True)
class SimulationOptions:
    leads_file: Path
    days: int = 90
    start: datetime | None = None  # default: now, rounded down to the hour
    step: timedelta = timedelta(hours=1)
    rates: Rates = Rates()
    seed: int = 7


@dataclass
class Week:
    """What one simulated week looked like at its end."""

    number: int
    stages: Counter[str]
    emails: int
    emails_per_lead_max: int
    leads_mailed: int


@dataclass(frozen=True)
class Unreached:
    """A stage no lead got to, and whether anything could have taken one there."""

    stage: str
    reachable: bool


@dataclass
class SimulationResult:
    leads: int
    stage_names: list[str] = field(default_factory=list)  # the pipeline's, in funnel order
    weekly_cap: int = 0  # emails per lead per week allowed ([limits] per_lead_per_week)
    weeks: list[Week] = field(default_factory=list)
    engagement: dict[str, int] = field(default_factory=dict)
    moves: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # from, to, by
    handoffs: Counter[str] = field(default_factory=Counter)
    stale: dict[str, int] = field(default_factory=dict)
    unreached: list[Unreached] = field(default_factory=list)

    @property
    def over_cap(self) -> list[int]:
        """The weeks in which some lead got more emails than the weekly cap allows."""
        return [w.number for w in self.weeks if w.emails_per_lead_max > self.weekly_cap]


async def simulate(options: SimulationOptions, settings: Settings, start: datetime,
                   on_week: Callable[[Week], None] | None = None) -> SimulationResult:
    """Run `options.days` on a virtual clock from `start`; returns what happened, week by week."""
    with tempfile.TemporaryDirectory(prefix="nurture-simulate-") as scratch:
        folder = Path(scratch)
        run_settings = settings.model_copy(update={
            "database_url": f"sqlite:///{folder / 'simulation.db'}",
            "maildir": folder / "outbox", "outbox": "maildir"})
        engine = make_engine(run_settings.database_url)
        try:
            return await _run(options, run_settings, engine, folder, start,
                              on_week)
        finally:
            engine.dispose()


async def _run(options: SimulationOptions, settings: Settings, engine: Engine, folder: Path,
               start: datetime, on_week: Callable[[Week], None] | None
               ) -> SimulationResult:
    upgrade(engine)
    sync_reps(engine, settings.reps)
    project = load_project(settings.sequences_dir)
    imported = import_leads(engine, options.leads_file, project.pipeline.first_stage, start)
    clock = ManualClock(start)
    dispatcher = Dispatcher(engine, project, TemplateRenderer(settings.templates_dir),
                            MaildirTransport(folder / "outbox"), Identity.from_settings(settings),
                            dispatch_config(settings, "simulate"))
    engagement = EngagementSimulator(engine, project, options.rates, options.seed)
    sales = SalesSimulator(engine, project, options.rates, options.seed)
    result = SimulationResult(leads=imported.inserted,
                              stage_names=[stage.id for stage in project.pipeline.stages],
                              weekly_cap=settings.limits.per_lead_per_week)
    end = start + timedelta(days=options.days)
    week_start = start
    while clock.now() < end:
        now = clock.now()
        enroll_pending(engine, project, now, settings.default_timezone,
                       timedelta(minutes=settings.jitter_minutes))
        while (await dispatcher.tick(now)).claimed >= settings.batch_size:
            pass
        engagement.step(now)
        sales.step(now)
        for job in _PIPELINE_JOBS:
            await job(engine, project, settings, now)
        clock.advance(options.step)
        if clock.now() - week_start >= WEEK or clock.now() >= end:
            week = _week(engine, len(result.weeks) + 1, week_start, clock.now())
            result.weeks.append(week)
            if on_week:
                on_week(week)
            week_start = clock.now()
    await dispatcher.transport.close()
    result.engagement = dict(engagement.counts)
    result.moves = _moves(engine)
    result.handoffs = _handoffs(engine)
    result.stale = _stale(engine, project, clock.now())
    result.unreached = _unreached(project, result, sales.deal_steps())
    return result


def _moves(engine: Engine) -> Counter[tuple[str, str, str]]:
    """Stage changes made, by (from, to, what made them: a rule's name, "time limit" for a
    stage's max_days, or "by hand" for a rep)."""
    stale = STAGE_CHANGES.c.reason.startswith("stale:")
    by = case((STAGE_CHANGES.c.rule.is_not(None), STAGE_CHANGES.c.rule),
              (stale, "time limit"), else_="by hand")
    with engine.connect() as connection:
        return Counter({(str(source), str(target), str(maker)): int(count)
                        for source, target, maker, count in connection.execute(
            select(STAGE_CHANGES.c.from_stage, STAGE_CHANGES.c.to_stage, by, func.count())
            .where(STAGE_CHANGES.c.from_stage.is_not(None),
                   STAGE_CHANGES.c.from_stage != STAGE_CHANGES.c.to_stage)
            .group_by(STAGE_CHANGES.c.from_stage, STAGE_CHANGES.c.to_stage, by))})


def _unreached(project: Project, result: SimulationResult,
               deal_steps: list[tuple[str, str]]) -> list[Unreached]:
    """Stages no lead was in at any week's end nor passed through, each with whether a rule, a
    time limit or a rep could take a lead there at all (if not, likely a mistake)."""
    visited = {project.pipeline.first_stage}
    for week in result.weeks:
        visited.update(stage for stage, count in week.stages.items() if count)
    for source, target, _ in result.moves:
        visited.update((source, target))
    reachable = reachable_stages(project.pipeline, deal_steps)
    return [Unreached(stage, stage in reachable) for stage in result.stage_names
            if stage not in visited]


def _week(engine: Engine, number: int, since: datetime, until: datetime) -> Week:
    with engine.connect() as connection:
        stages = Counter({str(stage): int(count) for stage, count in connection.execute(
            select(LEADS.c.stage, func.count()).group_by(LEADS.c.stage))})
        per_lead = [int(count) for _, count in connection.execute(
            select(OUTBOX.c.lead_id, func.count())
            .where(OUTBOX.c.status == "sent", OUTBOX.c.sent_at >= since,
                   OUTBOX.c.sent_at < until)
            .group_by(OUTBOX.c.lead_id))]
    return Week(number, stages, sum(per_lead), max(per_lead, default=0), len(per_lead))


def _handoffs(engine: Engine) -> Counter[str]:
    """Handoffs made, by the rep who got the lead ("nobody" when no rep could take it)."""
    rep = func.coalesce(REPS.c.name, "nobody")
    with engine.connect() as connection:
        return Counter({str(name): int(count) for name, count in connection.execute(
            select(rep, func.count()).select_from(HANDOFFS)
            .outerjoin(REPS, HANDOFFS.c.rep_id == REPS.c.id).group_by(rep))})


def _stale(engine: Engine, project: Project, now: datetime) -> dict[str, int]:
    """Leads past their stage's time limit at the end, by stage."""
    found: dict[str, int] = {}
    with engine.connect() as connection:
        for stage in project.pipeline.stages:
            if stage.max_days is None:
                continue
            count = connection.execute(
                select(func.count()).select_from(LEADS)
                .where(LEADS.c.stage == stage.id,
                       LEADS.c.stage_entered_at < now - timedelta(days=stage.max_days))
            ).scalar_one()
            if count:
                found[stage.id] = int(count)
    return found
