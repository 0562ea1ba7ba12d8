"""`nurture simulate`: what the sequences and rules would do to these leads over N days."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from nurture.cli.common import console, now, reported_errors, settings_of
from nurture.logs import configure_logging
from nurture.simulator import Rates

if TYPE_CHECKING:
    from nurture.simulate import SimulationResult


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
    form_rate: Annotated[float, typer.Option(min=0, max=1, help="demo requests per click")]
    = 0.15,
    pricing_share: Annotated[float, typer.Option(min=0, max=1, help="clicks on the pricing "
                                                 "page")] = 0.25,
    deal_advance_rate: Annotated[float, typer.Option(
        min=0, max=1, help="chance per week that a rep moves a deal to the next stage")] = 0.30,
    deal_loss_rate: Annotated[float, typer.Option(
        min=0, max=1, help="chance per week that a deal in a sales stage is lost")] = 0.10,
    step_minutes: Annotated[int, typer.Option(min=5, max=1440,
                                              help="virtual minutes per step")] = 60,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same run)")] = 7,
) -> None:
    """Run sequences, simulated engagement, scoring, rules and handoffs on a virtual clock
    against a throw-away database, and print what would happen."""
    from nurture.simulate import SimulationOptions, Week, simulate

    settings = settings_of(ctx)
    configure_logging(settings.log_format, level=40)
    if click_rate > open_rate or reply_rate > open_rate:
        console.print("[red]error:[/red] --click-rate and --reply-rate cannot exceed --open-rate "
                      "(a click or a reply implies an open)")
        raise typer.Exit(2)
    if deal_advance_rate + deal_loss_rate > 1:
        console.print("[red]error:[/red] --deal-advance-rate and --deal-loss-rate add up to "
                      "more than 1")
        raise typer.Exit(2)
    options = SimulationOptions(
        leads_file=leads, days=days, step=timedelta(minutes=step_minutes), seed=seed,
        rates=Rates(open_rate, click_rate, reply_rate, unsubscribe_rate, pricing_share,
                    form_rate, deal_advance_rate, deal_loss_rate))
    start = now().replace(minute=0, second=0, microsecond=0)

    def progress(week: Week) -> None:
        console.print(f"  week {week.number}: {week.emails} emails", style="dim")

    console.print(f"Simulating {days} days from {start:%Y-%m-%d %H:%M} UTC…")
    with reported_errors():
        result = asyncio.run(simulate(options, settings, start, progress))
    _print(result)


MAX_WEEK_COLUMNS = 13


def _print(result: SimulationResult) -> None:
    console.print(_stages_table(result), _mail_table(result))
    if result.over_cap:
        console.print(f"[red]Over the frequency cap[/red] ({result.weekly_cap} emails per lead "
                      f"per week) in weeks {', '.join(map(str, result.over_cap))}.")
    else:
        console.print(f"Frequency cap kept: no lead got more than {result.weekly_cap} emails "
                      "in a week.")
    console.print(_moves_table(result) if result.moves else "No stage changes.")
    handoffs = Table("rep", "leads handed off", title="Handoffs per rep", title_justify="left")
    for rep, count in result.handoffs.most_common():
        handoffs.add_row(rep, str(count))
    console.print(handoffs if result.handoffs else "No handoffs (are [[reps]] configured?).")
    stale = Table("stage", "leads past max_days", title="Leads that would go stale",
                  title_justify="left")
    for stage, count in result.stale.items():
        stale.add_row(stage, str(count))
    console.print(stale if result.stale else "No stale leads at the end.")
    if quiet := [u.stage for u in result.unreached if u.reachable]:
        console.print(f"No lead reached these stages in this run: {', '.join(quiet)}.",
                      highlight=False, markup=False)
    for unreached in result.unreached:
        if not unreached.reachable:
            console.print(f"[yellow]warning:[/yellow] no rule, on_stale or sales step leads to "
                          f"stage {unreached.stage!r}: only a manual move can; is a rule "
                          "missing?", highlight=False)
    engagement = ", ".join(f"{k} {v}" for k, v in sorted(result.engagement.items()))
    console.print(f"Simulated engagement: {engagement or 'none'} ({result.leads} leads).")


def _stages_table(result: SimulationResult) -> Table:
    """Leads per stage (rows) at the end of each week (columns; at most MAX_WEEK_COLUMNS, the
    last week always shown)."""
    every = -(-len(result.weeks) // MAX_WEEK_COLUMNS) or 1
    shown = result.weeks[::every]
    if result.weeks and shown[-1] is not result.weeks[-1]:
        shown.append(result.weeks[-1])
    table = Table("stage", *(f"w{week.number}" for week in shown),
                  title="Leads per stage (end of week)", title_justify="left")
    for stage in result.stage_names:
        table.add_row(stage, *(str(week.stages.get(stage, 0)) for week in shown))
    return table


def _mail_table(result: SimulationResult) -> Table:
    table = Table("week", "emails", "leads mailed", "per lead (avg)", "per lead (max)",
                  title="Emails per lead per week", title_justify="left")
    for week in result.weeks:
        average = week.emails / week.leads_mailed if week.leads_mailed else 0.0
        table.add_row(str(week.number), str(week.emails), str(week.leads_mailed),
                      f"{average:.2f}", str(week.emails_per_lead_max))
    return table


def _moves_table(result: SimulationResult) -> Table:
    table = Table("from", "to", "by", "leads", title="Stage changes", title_justify="left")
    for (source, target, by), count in result.moves.most_common():
        table.add_row(source, target, by, str(count))
    return table
