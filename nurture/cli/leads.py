"""`nurture leads import|list|show|move|export`."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from sqlmodel import Session

from nurture.cli.common import console, errors, now, reported_errors, settings_of
from nurture.cli.story import print_story
from nurture.core.errors import NurtureError
from nurture.core.sequences import Scoring
from nurture.engine.rules_sweep import mark_changed_due
from nurture.engine.stages import move_lead
from nurture.files.leads_csv import LEAD_FIELDS
from nurture.files.loader import load_project
from nurture.settings import Settings
from nurture.store.engine import make_engine, upgrade, writing
from nurture.store.importing import import_leads
from nurture.store.leads import export_leads, get_lead_by_email, lead_story, list_leads

app = typer.Typer(help="Import, list, inspect and export leads.", no_args_is_help=True)


def _engine(settings: Settings) -> Any:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


def _entry_stage(settings: Settings) -> str:
    with reported_errors():
        return load_project(settings.sequences_dir).pipeline.first_stage


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV with a header")],
    stage: Annotated[str | None, typer.Option(help="stage of new leads (default: the first)")]
    = None,
) -> None:
    """Upsert leads by email; bad rows are named by line and the rest still import."""
    settings = settings_of(ctx)
    engine = _engine(settings)
    at = now()
    with Progress(TextColumn("importing {task.fields[name]}"), BarColumn(),
                  TextColumn("{task.completed} leads"), TimeElapsedColumn(),
                  console=errors, transient=True, disable=not errors.is_terminal) as progress:
        task = progress.add_task("import", total=None, name=file.name)
        report = import_leads(engine, file, stage or _entry_stage(settings), at,
                              progress=lambda done: progress.update(task, completed=done))
    with writing(engine) as connection:  # the rules sweep scores and grades them next
        mark_changed_due(connection, at)
    for error in report.errors:
        errors.print(f"{file}: {error}", highlight=False, markup=False, soft_wrap=True)
    for warning in report.warnings:
        errors.print(f"{file}: warning: {warning}", highlight=False, markup=False,
                     soft_wrap=True)
    console.print(f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged, "
                  f"{len(report.errors)} rows refused", highlight=False)
    if report.errors:
        raise typer.Exit(2 if report.inserted + report.updated + report.unchanged else 1)


@app.command("list")
def list_command(
    ctx: typer.Context,
    stage: Annotated[str | None, typer.Option(help="only leads in this stage")] = None,
    status: Annotated[str | None, typer.Option(help="only leads with this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """One page of leads as a table."""
    engine = _engine(settings_of(ctx))
    with Session(engine) as session:
        leads = list_leads(session, stage=stage, status=status, limit=limit, offset=offset)
    table = Table(_whole("email", [lead.email for lead in leads]), "name", "company",
                  _whole("stage", [lead.stage for lead in leads]), "status", "score", "fit")
    for lead in leads:
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
        table.add_row(lead.email, name, lead.company or "", lead.stage, lead.status,
                      f"{lead.score:.0f}", lead.fit)
    console.print(table)


def _whole(header: str, values: list[str]) -> Column:
    """A column never cut short, even on a narrow terminal: people copy these values."""
    return Column(header, no_wrap=True, min_width=max(map(len, [header, *values])))


@app.command("show")
def show_command(ctx: typer.Context, email: Annotated[str, typer.Argument()]) -> None:
    """A lead's whole story: fields, what its score is made of now, stage history (rule,
    reason), score history (event, reason), sequences, emails, events."""
    settings = settings_of(ctx)
    engine = _engine(settings)
    with Session(engine) as session:
        lead = get_lead_by_email(session, email)
        story = lead_story(session, lead.id) if lead and lead.id else None
        if story is None:
            errors.print(f"error: no lead with email {email}", highlight=False, markup=False)
            raise typer.Exit(1)
        print_story(console, story, _scoring(settings), now())


def _scoring(settings: Settings) -> Scoring | None:
    """The scoring rules, to explain the score; None (no explanation) if they do not load."""
    try:
        return load_project(settings.sequences_dir).pipeline.scoring
    except NurtureError:
        return None


@app.command("move")
def move_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="the lead's email")],
    stage: Annotated[str, typer.Argument(help="the stage to move it to (an id in pipeline.toml)")],
    reason: Annotated[str, typer.Option(help="why: kept in the lead's stage history")],
) -> None:
    """Move a lead to another stage by hand: its sequences stop and the new stage's start."""
    settings = settings_of(ctx)
    engine = _engine(settings)
    with reported_errors():
        project = load_project(settings.sequences_dir)
        with Session(engine) as session:
            lead = get_lead_by_email(session, email)
        if lead is None or lead.id is None:
            errors.print(f"error: no lead with email {email}", highlight=False, markup=False)
            raise typer.Exit(1)
        with writing(engine) as connection:
            move = move_lead(connection, project, lead.id, stage, reason, now())
    assert move is not None
    console.print(f"{lead.email}: {move.from_stage} → {move.to_stage} ({move.reason})",
                  highlight=False, markup=False)


@app.command("export")
def export_command(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="file (default: stdout)")]
    = None,
) -> None:
    """Every lead as CSV in the import format, custom fields as their own columns, so that
    importing an export gives the same leads (stage, score and history are not exported)."""
    engine = _engine(settings_of(ctx))
    with Session(engine) as session:
        custom = sorted({key for row in export_leads(session) for key in row["custom"] or {}})
        stream = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            writer = csv.writer(stream)
            writer.writerow([*LEAD_FIELDS, *custom])
            for row in export_leads(session):
                values = row["custom"] or {}
                writer.writerow([_cell(row[name]) for name in LEAD_FIELDS]
                                + [_cell(values.get(key)) for key in custom])
        finally:
            if output:
                stream.close()


def _cell(value: Any) -> Any:
    """A CSV cell: blank for nothing, text as is, other custom values (from the API) as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str | int | float) else json.dumps(value)
