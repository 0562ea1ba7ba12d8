"""What every command shares: settings loaded once, a console, errors printed for people, and
the configured database, migrated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import Engine

from nurture.core.errors import NurtureError
from nurture.settings import Settings, load_settings
from nurture.store.engine import make_engine, upgrade

console = Console()
errors = Console(stderr=True)


@dataclass
class State:
    config_file: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            with reported_errors():
                self._settings = load_settings(self.config_file)
        return self._settings


def settings_of(ctx: typer.Context) -> Settings:
    state = ctx.obj if isinstance(ctx.obj, State) else State()
    return state.settings


def now() -> datetime:
    """The one place the command line reads the clock."""
    return datetime.now(UTC)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn nurture's own errors into one clear line on stderr and exit status 1."""
    try:
        yield
    except NurtureError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(1) from exc


@contextmanager
def database(ctx: typer.Context) -> Iterator[Engine]:
    """The configured database, migrated to the latest schema; disposed of afterwards."""
    engine = make_engine(settings_of(ctx).database_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
