"""`nurture leads contacted EMAIL`: a rep records that they got in touch with a lead, which
stops the handoff SLA (no reminder, no reassignment)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from nurture.cli.common import console, database, errors, now, reported_errors, settings_of
from nurture.engine.events import NewEvent, record_event
from nurture.files.loader import load_project
from nurture.store.engine import writing
from nurture.store.leads import get_lead_by_email


def contacted_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="the lead's email")],
    note: Annotated[str | None, typer.Option(help="what was said or agreed")] = None,
) -> None:
    """Record that you contacted a lead (a `contacted` event)."""
    settings = settings_of(ctx)
    with reported_errors():
        project = load_project(settings.sequences_dir)
    with database(ctx) as engine:
        with Session(engine) as session:
            lead = get_lead_by_email(session, email)
        if lead is None or lead.id is None:
            errors.print(f"error: no lead with email {email}", highlight=False, markup=False)
            raise typer.Exit(1)
        at = now()
        with writing(engine) as connection:
            record_event(connection, project, NewEvent(
                lead.id, "contacted", at, {"note": note} if note else {}, source="cli"))
    console.print(f"recorded: {lead.email} contacted at {at:%Y-%m-%d %H:%M} UTC",
                  highlight=False, markup=False)
