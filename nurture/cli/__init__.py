"""The `nurture` command line: one small function per command, calling the layers below."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nurture.cli import (
    daemon,
    dashboard,
    db,
    handoff,
    leads,
    preview,
    report,
    simulate,
    suppress,
    tasks,
    validate,
)
from nurture.cli.common import State

app = typer.Typer(
    help="nurture: lead-nurturing sequences, scoring and handoff, run as a daemon.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c",
                     help="config file (default: $NURTURE_CONFIG or ./config.toml)"),
    ] = None,
) -> None:
    """Read the configuration once for every command."""
    ctx.obj = State(config_file=config)


app.command("validate")(validate.validate_command)
app.command("run")(daemon.run_command)
app.command("serve")(daemon.serve_command)
app.command("demo")(daemon.demo_command)
app.command("tasks")(tasks.tasks_command)
app.command("preview")(preview.preview_command)
app.command("simulate")(simulate.simulate_command)
leads.app.command("contacted")(handoff.contacted_command)
app.add_typer(leads.app, name="leads")
app.add_typer(report.app, name="report")
app.add_typer(db.app, name="db")
app.add_typer(suppress.app, name="suppress")
app.add_typer(dashboard.app, name="dashboard")
