"""`nurture suppress add|remove|list|import|export`: addresses and domains never to be mailed.

Entries are honoured at send time for every lead, also leads imported after the entry.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from nurture.cli.common import console, database, errors, now
from nurture.store.engine import writing
from nurture.store.suppressions import (
    Suppressed,
    add_suppressions,
    export_suppressions,
    list_suppressions,
    parse_suppression,
    remove_suppressions,
)

app = typer.Typer(help="The suppression list: addresses and whole domains never mailed.",
                  no_args_is_help=True)
VALUES_HELP = "addresses (ann@example.com) or whole domains (example.com or @example.com)"
VALUE_HEADERS = ("value", "email", "domain", "address", "email address")
EXPORT_COLUMNS = ("value", "kind", "reason", "created_at")


@app.command("add")
def add_command(
    ctx: typer.Context,
    values: Annotated[list[str], typer.Argument(help=VALUES_HELP)],
    reason: Annotated[str, typer.Option(help="why, kept with each entry")] = "added by hand",
) -> None:
    """Suppress addresses or domains; nothing is added if any value is invalid."""
    entries, problems = [], []
    for value in values:
        try:
            entries.append(parse_suppression(value))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        for problem in problems:
            errors.print(f"error: {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)
    with database(ctx) as engine, writing(engine) as connection:
        added = add_suppressions(connection, entries, reason, now())
    console.print(f"{added} added, {len(set(e.value for e in entries)) - added} already listed",
                  highlight=False)


@app.command("remove")
def remove_command(
    ctx: typer.Context, values: Annotated[list[str], typer.Argument(help=VALUES_HELP)],
) -> None:
    """Take addresses or domains off the list; exit status 1 if one was not on it."""
    missing = []
    with database(ctx) as engine, writing(engine) as connection:
        for value in values:
            try:
                removed = remove_suppressions(connection, [value])
            except ValueError as exc:
                errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
                raise typer.Exit(1) from exc
            if not removed:
                missing.append(value)
    for value in missing:
        errors.print(f"{value} is not on the suppression list", highlight=False, markup=False,
                     soft_wrap=True)
    console.print(f"{len(values) - len(missing)} removed", highlight=False)
    if missing:
        raise typer.Exit(1)


@app.command("list")
def list_command(
    ctx: typer.Context,
    kind: Annotated[Literal["email", "domain"] | None, typer.Option(help="only this kind")]
    = None,
    limit: Annotated[int, typer.Option(min=1, max=100000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """One page of the list, alphabetically."""
    table = Table("value", "kind", "reason", "added")
    with database(ctx) as engine, engine.connect() as connection:
        for entry in list_suppressions(connection, kind, limit, offset):
            added = f"{entry.created_at:%Y-%m-%d}" if entry.created_at else ""
            table.add_row(entry.value, entry.kind, entry.reason, added)
    console.print(table)


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="one value a line, or a CSV with a value "
                                              "(or email/domain) column and a reason column")],
    reason: Annotated[str | None, typer.Option(help="reason for rows without one")] = None,
) -> None:
    """Add every address and domain of a file; bad lines are named and the rest still added."""
    entries, problems = read_suppression_file(file)
    for problem in problems:
        errors.print(f"{file}:{problem}", highlight=False, markup=False, soft_wrap=True)
    with database(ctx) as engine, writing(engine) as connection:
        added = add_suppressions(connection, entries, reason or f"imported from {file.name}",
                                 now())
    unique = len({entry.value for entry in entries})
    console.print(f"{added} added, {unique - added} already listed, {len(problems)} lines "
                  "refused", highlight=False)
    if problems:
        raise typer.Exit(2 if entries else 1)


@app.command("export")
def export_command(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="file (default: stdout)")]
    = None,
) -> None:
    """The whole list as CSV (value, kind, reason, created_at); `import` reads it back."""
    stream = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.writer(stream)
        writer.writerow(EXPORT_COLUMNS)
        with database(ctx) as engine, engine.connect() as connection:
            for entry in export_suppressions(connection):
                created = entry.created_at.isoformat() if entry.created_at else ""
                writer.writerow([entry.value, entry.kind, entry.reason, created])
    finally:
        if output:
            stream.close()


def read_suppression_file(path: Path) -> tuple[list[Suppressed], list[str]]:
    """The entries of a file and its bad lines ("line N: why"). Blank lines and lines starting
    with # are skipped; a first line naming its columns (value/email/domain, reason) is a
    header, otherwise the first column is the value and the second, if any, the reason."""
    entries: list[Suppressed] = []
    problems: list[str] = []
    value_at, reason_at = 0, 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not cells or not cells[0] or cells[0].startswith("#"):
                continue
            names = [cell.lower() for cell in cells]
            if reader.line_num == 1 and any(name in VALUE_HEADERS for name in names):
                value_at = next(i for i, name in enumerate(names) if name in VALUE_HEADERS)
                reason_at = names.index("reason") if "reason" in names else -1
                continue
            try:
                entry = parse_suppression(cells[value_at] if value_at < len(cells) else "")
            except ValueError as exc:
                problems.append(f"line {reader.line_num}: {exc}")
                continue
            given = cells[reason_at] if 0 <= reason_at < len(cells) else ""
            entries.append(Suppressed(entry.value, entry.kind, given))
    return entries, problems
