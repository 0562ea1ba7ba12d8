"""`nurture report funnel|velocity|forecast|sequences|sources`: the pipeline's figures as tables,
CSV or JSON, for a period and filtered by lead source, industry, sequence or owner; and
`nurture report rebuild`, which recomputes the summaries they read from the stored history."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table as RichTable
from sqlalchemy import Connection

from nurture.cli.common import console, database, errors, now, reported_errors, settings_of
from nurture.core.sequences import Pipeline
from nurture.files.loader import Project, load_project
from nurture.reports.filters import Filters, UnknownOwner, owner_id
from nurture.reports.forecast import forecast_report
from nurture.reports.funnel import funnel_report
from nurture.reports.rebuild import rebuild
from nurture.reports.sequences import sequences_report
from nurture.reports.sources import sources_report
from nurture.reports.tables import (
    Table,
    forecast_tables,
    funnel_tables,
    sequences_tables,
    shown,
    sources_tables,
    velocity_tables,
)
from nurture.reports.velocity import velocity_report
from nurture.store.engine import writing
from nurture.store.tallies import fold

app = typer.Typer(help="Pipeline reports: funnel, velocity, forecast, sequences and sources.",
                  no_args_is_help=True)
Build = Callable[[Connection, Pipeline, Filters, datetime], Any]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DATE = ["%Y-%m-%d"]
Start = Annotated[datetime | None, typer.Option(
    "--from", formats=DATE, help="first day of the period, UTC (default: the beginning)")]
End = Annotated[datetime | None, typer.Option(
    "--to", formats=DATE, help="last day of the period, UTC, included (default: today)")]
Source = Annotated[str | None, typer.Option(help="only leads from this source")]
Industry = Annotated[str | None, typer.Option(help="only leads in this industry")]
SequenceId = Annotated[str | None, typer.Option("--sequence",
                                                help="only leads enrolled in this sequence")]
Owner = Annotated[str | None, typer.Option(help="only leads owned by this rep (email or id)")]
Output = Annotated[Format, typer.Option("--format", help="table, csv or json")]


@dataclass(frozen=True)
class Options:
    start: datetime | None
    end: datetime | None
    source: str | None
    industry: str | None
    sequence: str | None
    owner: str | None


def _command(name: str, build: Build, tabulate: Callable[[Any], list[Table]]) -> Callable:
    def command(ctx: typer.Context, start: Start = None, end: End = None, source: Source = None,
                industry: Industry = None, sequence: SequenceId = None, owner: Owner = None,
                output: Output = Format.table) -> None:
        options = Options(start, end, source, industry, sequence, owner)
        _report(ctx, name, options, output, build, tabulate)
    return command


app.command("funnel", help="Leads, value and days per stage; conversion and drop-off per "
            "step, with the bottleneck.")(_command("funnel", funnel_report, funnel_tables))
app.command("velocity", help="Conversion, time to convert, sales cycle, win rate and sales "
            "velocity, for the period and week by week.")(
    _command("velocity", velocity_report, velocity_tables))
app.command("sequences", help="Sent, delivered, opens, clicks, replies, unsubscribes and "
            "bounces per sequence and touch; A/B subjects with a significance test.")(
    _command("sequences", sequences_report, sequences_tables))
app.command("sources", help="Leads, conversion and value per lead source and industry.")(
    _command("sources", sources_report, sources_tables))


@app.command("forecast")
def forecast_command(
    ctx: typer.Context, start: Start = None, end: End = None, source: Source = None,
    industry: Industry = None, sequence: SequenceId = None, owner: Owner = None,
    target: Annotated[float | None, typer.Option(
        min=0, help="revenue to reach: shows the pipeline needed at the conversion rate")] = None,
    output: Output = Format.table,
) -> None:
    """The open pipeline weighted by stage probability, what was won, and the pipeline needed
    to reach a target."""
    def build(connection: Connection, pipeline: Pipeline, filters: Filters,
              moment: datetime) -> Any:
        return forecast_report(connection, pipeline, filters, moment, target)

    options = Options(start, end, source, industry, sequence, owner)
    _report(ctx, "forecast", options, output, build, forecast_tables)


@app.command("rebuild")
def rebuild_command(ctx: typer.Context) -> None:
    """Recompute the summaries the reports read (stage entries, email outcomes, daily counts)
    from the stored history. The writers keep them as they go: this is for a database restored
    or written by something else. On PostgreSQL, writers wait until it is done."""
    with database(ctx) as engine, writing(engine) as connection:
        done = rebuild(connection)
    console.print(f"rebuilt the reports' summaries of {done.leads:,} leads ({done.entries:,} "
                  f"stage entries) and {done.emails:,} emails in {done.seconds:.1f} s",
                  highlight=False)


def _report(ctx: typer.Context, name: str, options: Options, output: Format, build: Build,
            tabulate: Callable[[Any], list[Table]]) -> None:
    settings = settings_of(ctx)
    with reported_errors():
        project = load_project(settings.sequences_dir)
    with database(ctx) as engine:
        with writing(engine) as connection:  # the counts written since the last fold, folded
            fold(connection)
        moment = now()
        with engine.connect() as connection:
            report = build(connection, project.pipeline, _filters(connection, project, options),
                           moment)
    if output is Format.json:
        print(json.dumps({"report": name, "generated_at": moment, **asdict(report)},
                         default=_json_value, indent=2, ensure_ascii=False))
    elif output is Format.csv:
        _print_csv(tabulate(report))
    else:
        _print_tables(name, report.window, tabulate(report))


def _filters(connection: Connection, project: Project, options: Options) -> Filters:
    start = options.start.replace(tzinfo=UTC) if options.start else None
    end = options.end.replace(tzinfo=UTC) + timedelta(days=1) if options.end else None
    if start and end and end <= start:
        _fail(f"--to {options.end:%Y-%m-%d} is before --from {options.start:%Y-%m-%d}")
    if options.sequence and project.sequence(options.sequence) is None:
        known = ", ".join(sorted(s.id for s in project.sequences)) or "none"
        _fail(f"no sequence {options.sequence!r} (sequences: {known})")
    try:
        owner = owner_id(connection, options.owner.strip().lower()) if options.owner else None
    except UnknownOwner as exc:
        _fail(str(exc))
    return Filters(start, end, options.source, options.industry, options.sequence, owner)


def _fail(message: str) -> NoReturn:
    errors.print(f"error: {message}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _print_csv(tables: list[Table]) -> None:
    """Each table as its title on a line, its header and rows, then a blank line."""
    writer = csv.writer(sys.stdout)
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow([column.name for column in table.columns])
        writer.writerows([_csv_cell(value) for value in row] for row in table.rows)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return value.date().isoformat() if isinstance(value, datetime) else value


def _print_tables(name: str, window: Any, tables: list[Table]) -> None:
    start = f"{window.start:%Y-%m-%d %H:%M}" if window.start else "the beginning"
    console.print(f"[bold]{name}[/bold] from {start} to {window.end:%Y-%m-%d %H:%M} UTC",
                  highlight=False)
    for table in tables:
        console.print(_rich(table))


def _rich(table: Table) -> RichTable:
    if table.is_record:
        record = RichTable("figure", "value", title=table.title, title_justify="left")
        for column, value in zip(table.columns, table.rows[0], strict=True):
            record.add_row(column.name, shown(value, column.kind))
        return record
    rich = RichTable(title=table.title, title_justify="left", caption=table.note or None,
                     caption_justify="left")
    for index, column in enumerate(table.columns):
        if index == 0:  # the row's name (a stage, a sequence id) is never cut: people copy it
            width = max([len(column.name), *(len(str(row[0])) for row in table.rows)])
            rich.add_column(column.name, no_wrap=True, min_width=width)
        else:
            rich.add_column(column.name, justify="left" if column.kind == "text" else "right")
    for row in table.rows:
        rich.add_row(*(shown(value, column.kind)
                       for column, value in zip(table.columns, row, strict=True)))
    return rich
