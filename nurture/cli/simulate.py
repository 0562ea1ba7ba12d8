"""`nurture simulate`: what the sequences and rules would do to these leads over N days."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nurture.cli.common import console, now, reported_errors, settings_of
from nurture.logs import configure_logging
from nurture.simulator import Rates


def simulate_command(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, max=3650, help="simulated days")] = 90,
    leads: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="leads CSV")]
    = Path("examples/leads.csv"),
    open_rate: Annotated[float, typer.Option(min=0, max=1, help="opens per email")] = 0.45,
    click_rate: Annotated[float, typer.Option(min=0, max=1, help="clicks per email")] = 0.12,
    reply_rate: Annotated[float, typer.Option(min=0, max=1, help="replies per email")] = 0.04,
    unsubscribe_rate: Annotated[float, typer.Option(min=0, max=1,
                                                    help="unsubscribes per email")] = 0.006,
    step_minutes: Annotated[int, typer.Option(min=5, max=1440,
                                              help="virtual minutes per step")] = 60,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same run)")] = 7,
) -> None:
    """Run sequences, simulated engagement, scoring, rules and handoffs on a virtual clock
    against a throw-away database, and print what would happen."""
    from nurture.simulate import SimulationOptions, Week, pipeline_jobs, simulate

    settings = settings_of(ctx)
    configure_logging(settings.log_format, level=40)
    if click_rate > open_rate or reply_rate > open_rate:
        console.print("[red]error:[/red] --click-rate and --reply-rate cannot exceed --open-rate "
                      "(a click or a reply implies an open)")
        raise typer.Exit(2)
    options = SimulationOptions(
        leads_file=leads, days=days, step=timedelta(minutes=step_minutes), seed=seed,
        rates=Rates(open_rate, click_rate, reply_rate, unsubscribe_rate))
    start = now().replace(minute=0, second=0, microsecond=0)

    def progress(week: Week) -> None:
        console.print(f"  week {week.number}: {week.emails} emails", style="dim")

    console.print(f"Simulating {days} days from {start:%Y-%m-%d %H:%M} UTC…")
    with reported_errors():
        result = asyncio.run(simulate(options, settings, start, pipeline_jobs(settings),
                                      progress))
    _print(result)


def _print(result: object) -> None:
    from nurture.simulate import SimulationResult

    assert isinstance(result, SimulationResult)
    stages = Table("week", *result.stage_names, title="Leads per stage (end of week)",
                   title_justify="left")
    for week in result.weeks:
        stages.add_row(str(week.number), *(str(week.stages.get(s, 0)) for s in result.stage_names))
    mail = Table("week", "emails", "leads mailed", "per lead (avg)", "per lead (max)",
                 title="Emails per lead per week", title_justify="left")
    for week in result.weeks:
        average = week.emails / week.leads_mailed if week.leads_mailed else 0.0
        mail.add_row(str(week.number), str(week.emails), str(week.leads_mailed),
                     f"{average:.2f}", str(week.emails_per_lead_max))
    handoffs = Table("rep", "leads handed off", title="Handoffs per rep", title_justify="left")
    for rep, count in result.handoffs.most_common():
        handoffs.add_row(rep, str(count))
    stale = Table("stage", "leads past max_days", title="Leads that would go stale",
                  title_justify="left")
    for stage, count in result.stale.items():
        stale.add_row(stage, str(count))
    console.print(stages, mail)
    console.print(handoffs if result.handoffs else "No handoffs.")
    console.print(stale if result.stale else "No stale leads at the end.")
    engagement = ", ".join(f"{k} {v}" for k, v in sorted(result.engagement.items()))
    console.print(f"Simulated engagement: {engagement or 'none'} ({result.leads} leads).")
