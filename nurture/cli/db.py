"""`nurture db upgrade`: bring the database schema to the newest migration."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from nurture.cli.common import console, reported_errors, settings_of
from nurture.store.engine import make_engine, upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Apply every pending migration (safe to run again)."""
    settings = settings_of(ctx)
    with reported_errors():
        upgrade(make_engine(settings.database_url))
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(f"database {shown} is up to date", highlight=False)
