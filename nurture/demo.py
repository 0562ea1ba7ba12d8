"""`nurture demo`: the real daemon on a fresh SQLite database and Maildir, the example leads,
an accelerated clock and simulated engagement, with live progress and a closing summary.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from sqlalchemy import func, select

from nurture.clock import AcceleratedClock
from nurture.daemon import Daemon
from nurture.files.loader import load_project
from nurture.settings import Settings
from nurture.simulator import EngagementSimulator, SalesSimulator
from nurture.store.engine import make_engine, upgrade
from nurture.store.importing import import_leads
from nurture.store.models import Enrollment, Lead, Outbox

DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoOptions:
    folder: Path
    leads_file: Path
    days: float = 21
    seconds_per_day: float = 2.0


def demo_settings(base: Settings, folder: Path) -> Settings:
    """The base settings, pointed at the demo folder and sped up."""
    return base.model_copy(update={
        "database_url": f"sqlite:///{folder / 'nurture.db'}", "outbox": "maildir",
        "maildir": folder / "outbox", "dispatch_interval_seconds": 0.25, "http_port": 0,
    })


def prepare(options: DemoOptions, settings: Settings, start: datetime) -> int:
    """A fresh database and Maildir with the example leads imported; returns the lead count."""
    if options.folder.exists():
        shutil.rmtree(options.folder)
    options.folder.mkdir(parents=True)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    stage = load_project(settings.sequences_dir).pipeline.first_stage
    report = import_leads(engine, options.leads_file, stage, start)
    engine.dispose()
    return report.inserted


async def run_demo(options: DemoOptions, base: Settings, console: Console) -> None:
    settings = demo_settings(base, options.folder)
    start = datetime.now(UTC)
    leads = prepare(options, settings, start)
    clock = AcceleratedClock(start, speed=86_400 / options.seconds_per_day)
    end = start + options.days * DAY
    daemon_ref: list[Daemon] = []

    async def simulate() -> None:
        simulator.step(clock.now())
        sales.step(clock.now())
        if clock.now() >= end:
            daemon_ref[0].request_stop()

    daemon = Daemon(settings, clock, extra_jobs=[(simulate, 0.5)])
    daemon_ref.append(daemon)
    simulator = EngagementSimulator(daemon.engine, daemon.project)
    sales = SalesSimulator(daemon.engine, daemon.project)
    console.print(f"nurture demo: {leads} leads imported; one simulated day every "
                  f"{options.seconds_per_day:g} s for {options.days:g} days (Ctrl-C ends it)")
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        watcher = asyncio.create_task(_watch(daemon, clock, start, live, simulator))
        try:
            await daemon.run()
        finally:
            watcher.cancel()
    console.print(summary(daemon, simulator, options))


async def _watch(daemon: Daemon, clock: AcceleratedClock, start: datetime, live: Live,
                 simulator: EngagementSimulator) -> None:
    while True:
        live.update(progress_view(daemon, clock.now(), start, simulator))
        await asyncio.sleep(0.25)  # screen refresh, not a wait for the daemon


def _counts(daemon: Daemon) -> tuple[Counter[str], Counter[str], Counter[str]]:
    outbox = Outbox.__table__  # type: ignore[attr-defined]
    enrollment = Enrollment.__table__  # type: ignore[attr-defined]
    lead = Lead.__table__  # type: ignore[attr-defined]
    with daemon.engine.connect() as connection:
        def counted(statement: Any) -> Counter[str]:
            return Counter({str(k): int(v) for k, v in connection.execute(statement).all()})

        by_sequence = counted(
            select(enrollment.c.sequence_id, func.count())
            .join(outbox, outbox.c.enrollment_id == enrollment.c.id)
            .where(outbox.c.status == "sent").group_by(enrollment.c.sequence_id))
        by_stage = counted(select(lead.c.stage, func.count()).group_by(lead.c.stage))
        by_status = counted(select(lead.c.status, func.count()).group_by(lead.c.status))
    return by_sequence, by_stage, by_status


def progress_view(daemon: Daemon, now: datetime, start: datetime,
                  simulator: EngagementSimulator) -> Group:
    by_sequence, by_stage, by_status = _counts(daemon)
    table = Table("sequence", "emails sent", title=f"day {(now - start) / DAY:.1f} "
                  f"({now:%a %Y-%m-%d %H:%M} UTC)", title_justify="left")
    for sequence, count in sorted(by_sequence.items()):
        table.add_row(sequence, str(count))
    stages = Table("stage", "leads")
    for stage, count in sorted(by_stage.items()):
        stages.add_row(stage, str(count))
    engagement = ", ".join(f"{k} {v}" for k, v in sorted(simulator.counts.items())) or "none yet"
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
    return Group(table, stages, f"engagement: {engagement}", f"lead status: {statuses}")


def summary(daemon: Daemon, simulator: EngagementSimulator, options: DemoOptions) -> Group:
    by_sequence, _, _ = _counts(daemon)
    total = sum(by_sequence.values())
    mail = options.folder / "outbox" / "new"
    return Group(
        f"\n[bold]Demo finished[/bold]: {total} emails sent.",
        f"The emails are standard Maildir files in {mail}/ — open any with a mail client, or "
        f"point one at {options.folder / 'outbox'}.",
        f"The database is {options.folder / 'nurture.db'}; look inside with "
        f"NURTURE_DATABASE_URL=sqlite:///{options.folder / 'nurture.db'} nurture leads list",
    )
