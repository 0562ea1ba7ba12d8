"""`nurture run` (the daemon) and `nurture demo` (the daemon on a sped-up clock)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from nurture.cli.common import console, reported_errors, settings_of
from nurture.logs import configure_logging


def run_command(ctx: typer.Context) -> None:
    """Run the daemon: send due touches, serve tracking and the API, until SIGTERM."""
    settings = settings_of(ctx)
    configure_logging(settings.log_format)
    from nurture.daemon import Daemon

    with reported_errors():
        asyncio.run(_run(Daemon(settings)))


def serve_command(ctx: typer.Context) -> None:
    """Serve only the HTTP app (tracking, unsubscribe, API, /metrics) and send nothing: run
    more of these behind a load balancer to scale tracking out."""
    settings = settings_of(ctx).model_copy(update={"role": "web"})
    configure_logging(settings.log_format)
    from nurture.daemon import Daemon

    with reported_errors():
        asyncio.run(_run(Daemon(settings)))


async def _run(daemon: object) -> None:
    await daemon.run()  # type: ignore[attr-defined]


def demo_command(
    ctx: typer.Context,
    days: Annotated[float, typer.Option(min=0.1, help="simulated days to run")] = 21,
    seconds_per_day: Annotated[float, typer.Option(min=0.1, help="real seconds per simulated "
                                                   "day")] = 2.0,
    folder: Annotated[Path, typer.Option(help="where the demo database and Maildir go")]
    = Path("demo"),
    leads: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="leads to import")]
    = Path("examples/leads.csv"),
) -> None:
    """The whole engine on a fresh SQLite database and Maildir, with simulated engagement."""
    from nurture.demo import DemoOptions, run_demo

    settings = settings_of(ctx)
    configure_logging(settings.log_format, level=30)
    options = DemoOptions(folder=folder, leads_file=leads, days=days,
                          seconds_per_day=seconds_per_day)
    with reported_errors():
        asyncio.run(run_demo(options, settings, console))
