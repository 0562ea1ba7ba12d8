"""`nurture tasks`: the calls and follow-ups that `kind = "task"` touches created for reps."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from nurture.cli.common import console, settings_of
from nurture.store.engine import make_engine, upgrade
from nurture.store.models import Lead, Rep, Task

TASKS = Task.__table__  # type: ignore[attr-defined]
LEADS = Lead.__table__  # type: ignore[attr-defined]
REPS = Rep.__table__  # type: ignore[attr-defined]


def tasks_command(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option(help="only this rep's tasks (email)")] = None,
    done: Annotated[bool, typer.Option("--done", help="show finished tasks too")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """List open tasks, oldest due first."""
    engine = make_engine(settings_of(ctx).database_url)
    upgrade(engine)
    query = (
        select(TASKS.c.due_at, TASKS.c.title, LEADS.c.email, REPS.c.email.label("owner"),
               TASKS.c.done_at)
        .join(LEADS, LEADS.c.id == TASKS.c.lead_id)
        .outerjoin(REPS, REPS.c.id == TASKS.c.owner_id)
        .order_by(TASKS.c.due_at, TASKS.c.id).limit(limit)
    )
    if not done:
        query = query.where(TASKS.c.done_at.is_(None))
    if owner:
        query = query.where(REPS.c.email == owner.strip().lower())
    table = Table("due", "task", "lead", "owner", "done")
    with engine.connect() as connection:
        for row in connection.execute(query):
            table.add_row(f"{row.due_at:%Y-%m-%d %H:%M}", row.title, row.email,
                          row.owner or "(unassigned)",
                          f"{row.done_at:%Y-%m-%d}" if row.done_at else "")
    console.print(table)
